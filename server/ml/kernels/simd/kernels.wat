;; Training kernels in WebAssembly SIMD, run on the WASM backend's own memory (imported, so they
;; read and write tensors in place: no copies between heaps). Every pointer is a byte offset
;; into that memory; every float tensor is float32, channels last, rows of 4-float groups.
;; emit-wasm.ts assembles this file into kernels.wasm.ts; a test fails when that is stale.
(module
  (import "env" "memory" (memory 1))

  ;; Gradient of 2x2 / stride-2 unpadded max pooling for `channels` % 4 == 0. Each window's dy
  ;; goes to its first strict maximum in row-major order (as the cpu backend picks), every other
  ;; covered element gets 0; with an odd height or width the uncovered last row or column is left
  ;; as it was (the caller zeroes it).
  (func (export "maxPoolGrad2x2")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $batch i32) (param $inHeight i32) (param $inWidth i32) (param $channels i32)
    (param $outHeight i32) (param $outWidth i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $c i32)
    (local $pixelBytes i32) (local $rowBytes i32) (local $channelBytes i32)
    (local $topLeft i32) (local $at i32)
    (local $va v128) (local $vb v128) (local $vc v128) (local $vd v128) (local $grad v128)
    (local $max v128) (local $sa v128) (local $sb v128) (local $sc v128) (local $sd v128) (local $later v128)
    (local.set $channelBytes (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $pixelBytes (local.get $channelBytes))
    (local.set $rowBytes (i32.mul (local.get $inWidth) (local.get $channelBytes)))
    (block $doneBatch (loop $eachImage
      (br_if $doneBatch (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $oy (i32.const 0))
      (block $doneRows (loop $eachRow
        (br_if $doneRows (i32.ge_u (local.get $oy) (local.get $outHeight)))
        ;; Byte offset of input row 2*oy of image b.
        (local.set $topLeft
          (i32.mul
            (i32.add (i32.mul (local.get $b) (local.get $inHeight)) (i32.shl (local.get $oy) (i32.const 1)))
            (local.get $rowBytes)))
        (local.set $ox (i32.const 0))
        (block $doneColumns (loop $eachColumn
          (br_if $doneColumns (i32.ge_u (local.get $ox) (local.get $outWidth)))
          (local.set $c (i32.const 0))
          (block $doneChannels (loop $eachGroup
            (br_if $doneChannels (i32.ge_u (local.get $c) (local.get $channelBytes)))
            (local.set $at (i32.add (local.get $topLeft) (local.get $c)))
            (local.set $va (v128.load (i32.add (local.get $x) (local.get $at))))
            (local.set $vb (v128.load (i32.add (local.get $x) (i32.add (local.get $at) (local.get $pixelBytes)))))
            (local.set $vc (v128.load (i32.add (local.get $x) (i32.add (local.get $at) (local.get $rowBytes)))))
            (local.set $vd (v128.load (i32.add (local.get $x)
              (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $pixelBytes))))))
            (local.set $grad (v128.load (local.get $dy)))
            (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
            ;; Running maximum from -Infinity with strict '>': NaN never wins, ties keep the first.
            (local.set $max (f32x4.splat (f32.const -inf)))
            (local.set $sa (f32x4.gt (local.get $va) (local.get $max)))
            (local.set $max (v128.bitselect (local.get $va) (local.get $max) (local.get $sa)))
            (local.set $sb (f32x4.gt (local.get $vb) (local.get $max)))
            (local.set $max (v128.bitselect (local.get $vb) (local.get $max) (local.get $sb)))
            (local.set $sc (f32x4.gt (local.get $vc) (local.get $max)))
            (local.set $max (v128.bitselect (local.get $vc) (local.get $max) (local.get $sc)))
            (local.set $sd (f32x4.gt (local.get $vd) (local.get $max)))
            ;; The last element that raised the maximum wins: each earlier one only where no later did.
            (v128.store (i32.add (local.get $dx)
              (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $pixelBytes))))
              (v128.and (local.get $grad) (local.get $sd)))
            (local.set $later (local.get $sd))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $at) (local.get $rowBytes)))
              (v128.and (local.get $grad) (v128.andnot (local.get $sc) (local.get $later))))
            (local.set $later (v128.or (local.get $later) (local.get $sc)))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $at) (local.get $pixelBytes)))
              (v128.and (local.get $grad) (v128.andnot (local.get $sb) (local.get $later))))
            (local.set $later (v128.or (local.get $later) (local.get $sb)))
            (v128.store (i32.add (local.get $dx) (local.get $at))
              (v128.and (local.get $grad) (v128.andnot (local.get $sa) (local.get $later))))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br $eachGroup)))
          (local.set $topLeft (i32.add (local.get $topLeft) (i32.shl (local.get $pixelBytes) (i32.const 1))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $eachColumn)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $eachRow)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $eachImage)))
  )

  ;; out[i] = sum over r < rows of x[r * width + i], for width % 4 == 0, added up in doubles in
  ;; `scratch` (width doubles) as the cpu backend adds, then rounded once to float32.
  (func (export "sumRows")
    (param $x i32) (param $out i32) (param $scratch i32) (param $rows i32) (param $width i32)
    (local $r i32) (local $i i32) (local $widthBytes i32) (local $acc i32) (local $v v128)
    (local.set $widthBytes (i32.shl (local.get $width) (i32.const 2)))
    ;; Zero the accumulators.
    (local.set $i (i32.const 0))
    (block $zeroed (loop $zero
      (br_if $zeroed (i32.ge_u (local.get $i) (i32.shl (local.get $widthBytes) (i32.const 1))))
      (v128.store (i32.add (local.get $scratch) (local.get $i)) (v128.const i32x4 0 0 0 0))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $zero)))
    (block $doneRows (loop $eachRow
      (br_if $doneRows (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $i (i32.const 0))
      (local.set $acc (local.get $scratch))
      (block $doneGroups (loop $eachGroup
        (br_if $doneGroups (i32.ge_u (local.get $i) (local.get $widthBytes)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
        (v128.store (local.get $acc)
          (f64x2.add (v128.load (local.get $acc)) (f64x2.promote_low_f32x4 (local.get $v))))
        (v128.store offset=16 (local.get $acc)
          (f64x2.add (v128.load offset=16 (local.get $acc))
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $acc (i32.add (local.get $acc) (i32.const 32)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $eachGroup)))
      (local.set $x (i32.add (local.get $x) (local.get $widthBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $eachRow)))
    ;; Round to float32.
    (local.set $i (i32.const 0))
    (local.set $acc (local.get $scratch))
    (block $stored (loop $store
      (br_if $stored (i32.ge_u (local.get $i) (local.get $widthBytes)))
      (v128.store (i32.add (local.get $out) (local.get $i))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (v128.load (local.get $acc)))
          (f32x4.demote_f64x2_zero (v128.load offset=16 (local.get $acc)))))
      (local.set $acc (i32.add (local.get $acc) (i32.const 32)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $store)))
  )

  ;; Gradient of ReLU in one pass: dx = dy * step(x), step(x) = 1 where x > 0, NaN where x is
  ;; NaN, else 0 (tfjs's Step), for `count` % 4 == 0 elements.
  (func (export "reluGrad")
    (param $dy i32) (param $x i32) (param $dx i32) (param $count i32)
    (local $end i32) (local $v v128) (local $step v128)
    (local.set $end (i32.add (local.get $dx) (i32.shl (local.get $count) (i32.const 2))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $dx) (local.get $end)))
      (local.set $v (v128.load (local.get $x)))
      (local.set $step
        (v128.bitselect
          (local.get $v)
          (v128.bitselect (f32x4.splat (f32.const 1)) (v128.const i32x4 0 0 0 0)
            (f32x4.gt (local.get $v) (v128.const i32x4 0 0 0 0)))
          (f32x4.ne (local.get $v) (local.get $v))))
      (v128.store (local.get $dx) (f32x4.mul (v128.load (local.get $dy)) (local.get $step)))
      (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
      (br $each)))
  )
)
