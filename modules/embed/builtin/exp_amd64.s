#include "textflag.h"

// 127, the float32 exponent bias, in every lane.
DATA expBias<>+0(SB)/4, $127
DATA expBias<>+4(SB)/4, $127
DATA expBias<>+8(SB)/4, $127
DATA expBias<>+12(SB)/4, $127
DATA expBias<>+16(SB)/4, $127
DATA expBias<>+20(SB)/4, $127
DATA expBias<>+24(SB)/4, $127
DATA expBias<>+28(SB)/4, $127
GLOBL expBias<>(SB), RODATA|NOPTR, $32

// 1.0 in every lane.
DATA expOne<>+0(SB)/4, $0x3f800000
DATA expOne<>+4(SB)/4, $0x3f800000
DATA expOne<>+8(SB)/4, $0x3f800000
DATA expOne<>+12(SB)/4, $0x3f800000
DATA expOne<>+16(SB)/4, $0x3f800000
DATA expOne<>+20(SB)/4, $0x3f800000
DATA expOne<>+24(SB)/4, $0x3f800000
DATA expOne<>+28(SB)/4, $0x3f800000
GLOBL expOne<>(SB), RODATA|NOPTR, $32

#define BCAST(bits, reg) \
	MOVL         bits, AX \
	VMOVD        AX, X0 \
	VPBROADCASTD X0, reg

// func expSub(w *float32, n int, mx float32) float32
//
// w[i] = exp(w[i] - mx) for i < n (n a multiple of 8), returning their
// sum: Cephes' expf (range reduction by ln 2 in two parts, a degree-5
// polynomial, 2^k through the exponent bits), about 1 ulp.
TEXT ·expSub(SB), NOSPLIT, $0-28
	MOVQ         w+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS mx+16(FP), Y15
	BCAST($0xc2b0c0a5, Y13) // lowest argument, -88.376
	BCAST($0x3f000000, Y12) // 0.5 (also the last coefficient)
	BCAST($0x3fb8aa3b, Y11) // log2(e)
	BCAST($0x3f318000, Y10) // ln 2, high part
	BCAST($0xb95e8083, Y9)  // ln 2, low part
	BCAST($0x39506967, Y8)  // p0
	BCAST($0x3ab743ce, Y7)  // p1
	BCAST($0x3c088908, Y6)  // p2
	BCAST($0x3d2aa9c1, Y5)  // p3
	BCAST($0x3e2aaaaa, Y4)  // p4
	VXORPS       Y14, Y14, Y14
	SHRQ         $3, CX
	JZ           sum

loop:
	VMOVUPS      (DI), Y0
	VSUBPS       Y15, Y0, Y0
	VMAXPS       Y13, Y0, Y0
	VMOVAPS      Y12, Y1
	VFMADD231PS  Y11, Y0, Y1 // fx = x·log2e + 0.5
	VROUNDPS     $1, Y1, Y1  // floor
	VFNMADD231PS Y10, Y1, Y0 // x -= fx·ln2hi
	VFNMADD231PS Y9, Y1, Y0  // x -= fx·ln2lo
	VMULPS       Y0, Y0, Y2  // z = x²
	VMOVAPS      Y8, Y3
	VFMADD213PS  Y7, Y0, Y3
	VFMADD213PS  Y6, Y0, Y3
	VFMADD213PS  Y5, Y0, Y3
	VFMADD213PS  Y4, Y0, Y3
	VFMADD213PS  Y12, Y0, Y3
	VFMADD213PS  Y0, Y2, Y3  // y·z + x
	VADDPS       expOne<>(SB), Y3, Y3
	VCVTTPS2DQ   Y1, Y1
	VPADDD       expBias<>(SB), Y1, Y1
	VPSLLD       $23, Y1, Y1 // 2^fx
	VMULPS       Y1, Y3, Y3
	VMOVUPS      Y3, (DI)
	VADDPS       Y3, Y14, Y14
	ADDQ         $32, DI
	DECQ         CX
	JNZ          loop

sum:
	VEXTRACTF128 $1, Y14, X0
	VADDPS       X0, X14, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	MOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET
