#!/usr/bin/env bash
# OCR's system packages (docs/formats.md, "OCR"): Tesseract and its French and English data, and the DejaVu fonts
# the OCR tests and bench/ocr.py draw pages with. Called by `make serve` and scripts/system-deps.sh. Installs them
# when run as root on Debian/Ubuntu; otherwise prints the command and carries on (ragd then fails scanned pages and
# images with `ocr_unavailable`, naming the packages). A no-op when already present.
set -uo pipefail
missing=()
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
langs="$(tesseract --list-langs 2>/dev/null || true)"
for lang in fra eng; do
  grep -qx "$lang" <<<"$langs" || missing+=("tesseract-ocr-$lang")
done
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq || true
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    exit 0
  fi
fi
echo "OCR is not installed (scanned PDFs and images will fail with ocr_unavailable); install it with:" >&2
echo "  sudo apt-get install ${missing[*]}" >&2
exit 0
