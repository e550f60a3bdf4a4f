// hnswpeer: the same-run peer of BenchmarkHNSWvsHnswlib. It builds
// hnswlib's HierarchicalNSW (headers from the npm package hnswlib-node@3.0.0,
// compiled natively with g++ -O3 -mavx2 -mfma) over the benchmark's vectors
// with the given number of threads, then searches every query single-threaded
// at each ef, and reports wall and CPU seconds; the result labels go to a file
// so the Go side scores recall against the same ground truth as ours.
//
// usage: hnswpeer <data.bin> <out.bin> <M> <efC> <threads> <k> <ef>...
// data.bin: n u32 | dim u32 | nq u32 | n*dim f32 | nq*dim f32 (normalised)
// out.bin:  per ef: nq*k u32 labels (nearest first; 0xffffffff pads)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <thread>
#include <atomic>
#include <vector>
#include <sys/resource.h>
#include "hnswlib/hnswlib.h"

static double cpu_seconds() {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double wall_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char** argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: hnswpeer data.bin out.bin M efC threads k ef...\n");
        return 2;
    }
    FILE* f = fopen(argv[1], "rb");
    if (!f) { perror("data"); return 1; }
    uint32_t hdr[3];
    if (fread(hdr, 4, 3, f) != 3) { fprintf(stderr, "short header\n"); return 1; }
    size_t n = hdr[0], dim = hdr[1], nq = hdr[2];
    std::vector<float> base(n * dim), queries(nq * dim);
    if (fread(base.data(), 4, base.size(), f) != base.size() || fread(queries.data(), 4, queries.size(), f) != queries.size()) {
        fprintf(stderr, "short data\n");
        return 1;
    }
    fclose(f);
    int M = atoi(argv[3]), efC = atoi(argv[4]), threads = atoi(argv[5]), k = atoi(argv[6]);

    hnswlib::InnerProductSpace space(dim);
    hnswlib::HierarchicalNSW<float> index(&space, n, M, efC, 100);
    double w0 = wall_seconds(), c0 = cpu_seconds();
    std::atomic<size_t> next(0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++) {
        pool.emplace_back([&]() {
            for (size_t i; (i = next.fetch_add(1)) < n;) index.addPoint(&base[i * dim], i);
        });
    }
    for (auto& th : pool) th.join();
    printf("build %.6f %.6f\n", wall_seconds() - w0, cpu_seconds() - c0);
    printf("memory %zu\n", index.max_elements_ * index.size_data_per_element_);

    FILE* out = fopen(argv[2], "wb");
    if (!out) { perror("out"); return 1; }
    std::vector<uint32_t> labels(nq * k);
    for (int a = 7; a < argc; a++) {
        int ef = atoi(argv[a]);
        index.setEf(ef);
        double ws = wall_seconds(), cs = cpu_seconds();
        for (size_t q = 0; q < nq; q++) {
            auto res = index.searchKnn(&queries[q * dim], k);
            for (int j = k - 1; j >= 0; j--) {
                if (res.empty()) { labels[q * k + j] = 0xffffffffu; continue; }
                labels[q * k + j] = (uint32_t)res.top().second;
                res.pop();
            }
        }
        printf("ef %d %.6f %.6f\n", ef, wall_seconds() - ws, cpu_seconds() - cs);
        fwrite(labels.data(), 4, labels.size(), out);
    }
    fclose(out);
    return 0;
}
