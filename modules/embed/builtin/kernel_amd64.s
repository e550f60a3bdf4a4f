#include "textflag.h"

// One k step of the 6×16 micro-kernel: B row k in Y12:Y13 (16 columns),
// A column k broadcast two rows at a time (rows 0-2 from SI, 3-5 from
// R13, BX the row stride in bytes), 12 accumulators Y0..Y11 (row r in Y(2r),
// Y(2r+1)).
#define KSTEP(aoff, boff) \
	VMOVUPS      boff(DI), Y12 \
	VMOVUPS      boff+32(DI), Y13 \
	VBROADCASTSS aoff(SI), Y14 \
	VBROADCASTSS aoff(SI)(BX*1), Y15 \
	VFMADD231PS  Y12, Y14, Y0 \
	VFMADD231PS  Y13, Y14, Y1 \
	VFMADD231PS  Y12, Y15, Y2 \
	VFMADD231PS  Y13, Y15, Y3 \
	VBROADCASTSS aoff(SI)(BX*2), Y14 \
	VBROADCASTSS aoff(R13), Y15 \
	VFMADD231PS  Y12, Y14, Y4 \
	VFMADD231PS  Y13, Y14, Y5 \
	VFMADD231PS  Y12, Y15, Y6 \
	VFMADD231PS  Y13, Y15, Y7 \
	VBROADCASTSS aoff(R13)(BX*1), Y14 \
	VBROADCASTSS aoff(R13)(BX*2), Y15 \
	VFMADD231PS  Y12, Y14, Y8 \
	VFMADD231PS  Y13, Y14, Y9 \
	VFMADD231PS  Y12, Y15, Y10 \
	VFMADD231PS  Y13, Y15, Y11

// func kern6x16(a *float32, lda int, b, c *float32, kc, ldc int, bias *float32, flags, ns int)
//
// ns slivers of 6 rows, one after the other (A and C advance by 6 rows,
// B and the bias are the same), so one call covers a whole panel.
TEXT ·kern6x16(SB), NOSPLIT, $0-72
	MOVQ a+0(FP), AX
	MOVQ lda+8(FP), BX
	MOVQ c+24(FP), DX
	MOVQ ldc+40(FP), R8
	MOVQ bias+48(FP), R9
	MOVQ flags+56(FP), R10
	SHLQ $2, BX
	SHLQ $2, R8

sliver:
	MOVQ AX, SI
	LEAQ (BX)(BX*2), R13
	ADDQ SI, R13 // R13 = row 3 of A
	LEAQ (R8)(R8*2), R11
	ADDQ DX, R11 // R11 = row 3 of C
	MOVQ b+16(FP), DI
	MOVQ kc+32(FP), CX

	TESTQ $1, R10
	JZ    zero
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS (DX)(R8*1), Y2
	VMOVUPS 32(DX)(R8*1), Y3
	VMOVUPS (DX)(R8*2), Y4
	VMOVUPS 32(DX)(R8*2), Y5
	VMOVUPS (R11), Y6
	VMOVUPS 32(R11), Y7
	VMOVUPS (R11)(R8*1), Y8
	VMOVUPS 32(R11)(R8*1), Y9
	VMOVUPS (R11)(R8*2), Y10
	VMOVUPS 32(R11)(R8*2), Y11
	JMP     addbias

zero:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

addbias:
	TESTQ $4, R10
	JZ    kloop
	VMOVUPS (R9), Y12
	VMOVUPS 32(R9), Y13
	VADDPS  Y12, Y0, Y0
	VADDPS  Y13, Y1, Y1
	VADDPS  Y12, Y2, Y2
	VADDPS  Y13, Y3, Y3
	VADDPS  Y12, Y4, Y4
	VADDPS  Y13, Y5, Y5
	VADDPS  Y12, Y6, Y6
	VADDPS  Y13, Y7, Y7
	VADDPS  Y12, Y8, Y8
	VADDPS  Y13, Y9, Y9
	VADDPS  Y12, Y10, Y10
	VADDPS  Y13, Y11, Y11

kloop:
	MOVQ CX, R12
	SHRQ $2, R12
	JZ   tail

loop4:
	KSTEP(0, 0)
	KSTEP(4, 64)
	KSTEP(8, 128)
	KSTEP(12, 192)
	ADDQ $16, SI
	ADDQ $16, R13
	ADDQ $256, DI
	DECQ R12
	JNZ  loop4

tail:
	ANDQ $3, CX
	JZ   relu

loop1:
	KSTEP(0, 0)
	ADDQ $4, SI
	ADDQ $4, R13
	ADDQ $64, DI
	DECQ CX
	JNZ  loop1

relu:
	TESTQ  $2, R10
	JZ     store
	VXORPS Y14, Y14, Y14
	VMAXPS Y14, Y0, Y0
	VMAXPS Y14, Y1, Y1
	VMAXPS Y14, Y2, Y2
	VMAXPS Y14, Y3, Y3
	VMAXPS Y14, Y4, Y4
	VMAXPS Y14, Y5, Y5
	VMAXPS Y14, Y6, Y6
	VMAXPS Y14, Y7, Y7
	VMAXPS Y14, Y8, Y8
	VMAXPS Y14, Y9, Y9
	VMAXPS Y14, Y10, Y10
	VMAXPS Y14, Y11, Y11

store:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, (DX)(R8*1)
	VMOVUPS Y3, 32(DX)(R8*1)
	VMOVUPS Y4, (DX)(R8*2)
	VMOVUPS Y5, 32(DX)(R8*2)
	VMOVUPS Y6, (R11)
	VMOVUPS Y7, 32(R11)
	VMOVUPS Y8, (R11)(R8*1)
	VMOVUPS Y9, 32(R11)(R8*1)
	VMOVUPS Y10, (R11)(R8*2)
	VMOVUPS Y11, 32(R11)(R8*2)

	LEAQ (BX)(BX*2), R12
	LEAQ (AX)(R12*2), AX // next 6 rows of A
	LEAQ (R8)(R8*2), R12
	LEAQ (DX)(R12*2), DX // and of C
	DECQ ns+64(FP)
	JNZ  sliver
	VZEROUPPER
	RET
