;; The vertical pass of Pillow's bicubic resize (src/model/bicubic.ts) on 16 bytes at a time: for each output
;; row y, out[y][i] = clip8((2^21 + Σ_k src[first[y] + k][i] · weight[y][k]) >> 22) in 32-bit integers, as
;; Pillow's ImagingResampleVertical_8bpc computes it. The saturating narrows (i32 → i16 → unsigned u8) are
;; clip8. Compiled to bicubic-simd-module.ts by scripts/build-wasm.ts; the JavaScript loops are the fallback.
;;
;; Rows are read and written 16 bytes at a time, so a row's last block runs up to 15 bytes past its end: into
;; the next row (which is written after it), or into 16 bytes of padding the caller leaves after the input
;; and the output.
(module
  (memory (export "memory") 1)
  ;; src: offset of input row 0; stride: bytes from one input row to the next; rowBytes: bytes per row of
  ;; output; out: offset of output row 0 (rows rowBytes apart); rows: output rows; first, count: i32 per
  ;; output row (its first input row, and how many); weights: i32 × taps per output row.
  (func (export "vertical")
    (param $src i32) (param $stride i32) (param $rowBytes i32) (param $out i32) (param $rows i32)
    (param $first i32) (param $count i32) (param $weights i32) (param $taps i32)
    (local $y i32) (local $i i32) (local $k i32) (local $n i32) (local $base i32) (local $p i32)
    (local $wp i32) (local $o i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $v v128) (local $w v128) (local $lo v128) (local $hi v128)
    (block $rows_done
      (loop $each_row
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $rows)))
        (local.set $n (i32.load (i32.add (local.get $count) (i32.shl (local.get $y) (i32.const 2)))))
        (local.set $base
          (i32.add (local.get $src)
            (i32.mul (i32.load (i32.add (local.get $first) (i32.shl (local.get $y) (i32.const 2))))
              (local.get $stride))))
        (local.set $wp
          (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $y) (local.get $taps)) (i32.const 2))))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $y) (local.get $rowBytes))))
        (local.set $i (i32.const 0))
        (block $blocks_done
          (loop $each_block
            (br_if $blocks_done (i32.ge_u (local.get $i) (local.get $rowBytes)))
            ;; Pillow's rounding term, 1 << (22 − 1).
            (local.set $a0 (i32x4.splat (i32.const 2097152)))
            (local.set $a1 (local.get $a0))
            (local.set $a2 (local.get $a0))
            (local.set $a3 (local.get $a0))
            (local.set $p (i32.add (local.get $base) (local.get $i)))
            (local.set $k (i32.const 0))
            (block $taps_done
              (loop $each_tap
                (br_if $taps_done (i32.ge_u (local.get $k) (local.get $n)))
                (local.set $v (v128.load (local.get $p)))
                (local.set $w
                  (i32x4.splat (i32.load (i32.add (local.get $wp) (i32.shl (local.get $k) (i32.const 2))))))
                (local.set $lo (i16x8.extend_low_i8x16_u (local.get $v)))
                (local.set $hi (i16x8.extend_high_i8x16_u (local.get $v)))
                (local.set $a0
                  (i32x4.add (local.get $a0) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $lo)) (local.get $w))))
                (local.set $a1
                  (i32x4.add (local.get $a1) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $lo)) (local.get $w))))
                (local.set $a2
                  (i32x4.add (local.get $a2) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $hi)) (local.get $w))))
                (local.set $a3
                  (i32x4.add (local.get $a3) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $hi)) (local.get $w))))
                (local.set $p (i32.add (local.get $p) (local.get $stride)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $each_tap)))
            (v128.store (i32.add (local.get $o) (local.get $i))
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (local.get $a0) (i32.const 22))
                  (i32x4.shr_s (local.get $a1) (i32.const 22)))
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (local.get $a2) (i32.const 22))
                  (i32x4.shr_s (local.get $a3) (i32.const 22)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $each_block)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $each_row)))))
