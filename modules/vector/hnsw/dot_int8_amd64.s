//go:build !purego

#include "textflag.h"

// func dotInt8AVX2(a, b *int8, n int) int32
// n is a positive multiple of 32. Sign-extends 16 codes to int16
// (VPMOVSXBW), multiplies and adds pairs into int32 lanes (VPMADDWD), two
// independent accumulators per iteration.
TEXT ·dotInt8AVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VPXOR Y2, Y2, Y2
	VPXOR Y5, Y5, Y5

loop:
	VPMOVSXBW (SI), Y0
	VPMOVSXBW (DI), Y1
	VPMADDWD  Y1, Y0, Y0
	VPADDD    Y0, Y2, Y2
	VPMOVSXBW 16(SI), Y3
	VPMOVSXBW 16(DI), Y4
	VPMADDWD  Y4, Y3, Y3
	VPADDD    Y3, Y5, Y5
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $32, CX
	JNZ       loop

	VPADDD       Y5, Y2, Y2
	VEXTRACTI128 $1, Y2, X3
	VPADDD       X3, X2, X2
	VPSHUFD      $0x4E, X2, X3
	VPADDD       X3, X2, X2
	VPSHUFD      $0xB1, X2, X3
	VPADDD       X3, X2, X2
	VMOVD        X2, AX
	VZEROUPPER
	MOVL         AX, ret+24(FP)
	RET
