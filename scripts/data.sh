#!/usr/bin/env bash
# Builds datasets of the local registry (untar_data, include/fastai/data/external.h) from Debian
# packages, since the machines have no internet. Each lands in $FASTAI_HOME/data/<name>
# (default ~/.fastai-cpp/data/<name>), written into a temporary folder and renamed into place, so a
# dataset folder is either complete or absent. A complete dataset is skipped unless --force is given.
#
#   bash scripts/data.sh [--force] NAME...
#
#   fashion_mnist      links to the IDX files of dataset-fashion-mnist (what setup.sh does)
#   fashion_mnist_png  the same images as PNGs, {train,valid}/<class>/<n>.png (build/tools/fmnist_to_png)
#   credit_data        tabular classification    (R package modeldata)
#   diamonds           tabular regression        (R package ggplot2)
#   movielens          collaborative filtering   (R package dslabs)
#   fine_foods         text classification       (R package modeldata)
#   janeausten         language modelling        (R package janeaustenr)
#   openclipart        image classification: the 8 largest top-level categories of openclipart-png,
#                      up to 250 clip arts each (links; transportation has 170), {train,valid}/<category>/
#                      split 4:1 (package openclipart-png, a 130 MB download: not part of `all`)
#   openclipart_all    every top-level category of openclipart-png (22) with all its clip arts
#                      (about 6,900 files, 3 to 1,797 per category), every 5th in valid (not in `all`)
#   all                every one of them
#
# The table and text sets are converted to CSV / text by scripts/r/dataset_to_csv.R (Rscript).
set -euo pipefail
cd "$(dirname "$0")/.."

all=(fashion_mnist fashion_mnist_png credit_data diamonds movielens fine_foods janeausten)
force=0
names=()
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    all) names+=("${all[@]}") ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) names+=("$a") ;;
  esac
done
if ((${#names[@]} == 0)); then
  echo "usage: bash scripts/data.sh [--force] NAME... (${all[*]}, or all)" >&2
  exit 2
fi

data="${FASTAI_HOME:-${HOME:-$PWD}/.fastai-cpp}/data"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo

# The files that make each dataset complete (the same lists as src/data/external.cpp).
files_of() {
  case "$1" in
    fashion_mnist)
      echo train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz ;;
    fashion_mnist_png) echo train valid ;;
    credit_data) echo credit_data.csv ;;
    diamonds) echo diamonds.csv ;;
    movielens) echo ratings.csv movies.csv ;;
    fine_foods) echo fine_foods.csv ;;
    openclipart|openclipart_all) echo train valid ;;
    janeausten)
      echo sense_and_sensibility.txt pride_and_prejudice.txt mansfield_park.txt emma.txt northanger_abbey.txt \
           persuasion.txt ;;
    *) echo "data.sh: unknown dataset '$1' (known: ${all[*]} openclipart openclipart_all)" >&2; return 1 ;;
  esac
}

# Debian packages a dataset is built from.
packages_of() {
  case "$1" in
    fashion_mnist|fashion_mnist_png) echo dataset-fashion-mnist ;;
    credit_data|fine_foods) echo r-base-core r-cran-modeldata ;;
    diamonds) echo r-base-core r-cran-ggplot2 ;;
    movielens) echo r-base-core r-cran-dslabs ;;
    janeausten) echo r-base-core r-cran-janeaustenr ;;
    openclipart|openclipart_all) echo openclipart-png perl ;;
  esac
}

complete() {
  local f
  for f in $(files_of "$1"); do [ -e "$data/$1/$f" ] || return 1; done
}

install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "data.sh: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

fmnist_links() {  # $1: folder to fill
  local f src=/usr/share/datasets/fashion-mnist
  for f in $(files_of fashion_mnist); do
    if [ ! -e "$src/$f" ]; then
      echo "data.sh: $src/$f is missing (package dataset-fashion-mnist)" >&2
      return 1
    fi
    ln -sfn "$src/$f" "$1/$f"
  done
}

fmnist_png() {  # $1: folder to fill
  local tool=build/tools/fmnist_to_png
  if [ ! -x "$tool" ]; then
    echo "data.sh: building $tool"
    export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
    [ -f build/CMakeCache.txt ] ||
      cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTAI_BUILD_BENCH=OFF >/dev/null
    cmake --build build --target fmnist_to_png
  fi
  "$tool" --out "$1"
}

# Links to openclipart-png's clip arts (regular files; Debian's own links are duplicates), in an
# order fixed by the MD5 of their path (Perl's Digest::MD5: one process, not one per file), every
# 5th in valid. Links keep the 160 MB where Debian put it. The `openclipart` set: the 8 largest
# categories, up to 250 of each. `openclipart_all`: every top-level category, every clip
# art.
openclipart() {  # $1: folder to fill, $2: clip arts per category (0: all), $3...: categories
  local src=/usr/share/openclipart/png dst=$1 cap=$2 cat i f name
  shift 2
  for cat in "$@"; do
    [ -d "$src/$cat" ] || { echo "data.sh: $src/$cat is missing (package openclipart-png)" >&2; return 1; }
    mkdir -p "$dst/train/$cat" "$dst/valid/$cat"
    i=0
    while IFS= read -r f; do
      ((cap == 0 || i < cap)) || break
      name=${f#"$src/$cat/"}
      name=${name//\//_}
      if ((i % 5 == 4)); then ln -s "$f" "$dst/valid/$cat/$name"; else ln -s "$f" "$dst/train/$cat/$name"; fi
      i=$((i + 1))
    done < <(find "$src/$cat" -type f -name '*.png' |
               perl -MDigest::MD5=md5_hex -ne 'chomp; print substr(md5_hex($_), 0, 12), " $_\n"' | sort | cut -d' ' -f2-)
  done
}

openclipart_all() {  # $1: folder to fill
  local cats=() d
  for d in /usr/share/openclipart/png/*/; do cats+=("$(basename "$d")"); done
  ((${#cats[@]})) || { echo "data.sh: no categories under /usr/share/openclipart/png (package openclipart-png)" >&2; return 1; }
  openclipart "$1" 0 "${cats[@]}"
}

build_one() {  # $1: name; builds into a temporary folder, then renames it into place
  local name=$1 old start f secs
  files_of "$name" >/dev/null
  if ((force == 0)) && complete "$name"; then
    echo "data.sh: $name is already in $data/$name"
    return
  fi
  # shellcheck disable=SC2046
  install_packages $(packages_of "$name")
  mkdir -p "$data"
  tmp=$(mktemp -d "$data/.$name.tmp.XXXXXX")
  start=$(date +%s.%N)
  case "$name" in
    fashion_mnist) fmnist_links "$tmp" ;;
    fashion_mnist_png) fmnist_png "$tmp" ;;
    openclipart)
      openclipart "$tmp" 250 animals computer food people recreation shapes signs_and_symbols transportation ;;
    openclipart_all) openclipart_all "$tmp" ;;
    *) LC_ALL=C.UTF-8 TZ=UTC Rscript --vanilla scripts/r/dataset_to_csv.R "$name" "$tmp" ;;
  esac
  for f in $(files_of "$name"); do
    [ -e "$tmp/$f" ] || { echo "data.sh: building $name did not produce $f" >&2; return 1; }
  done
  chmod 755 "$tmp"
  if [ -e "$data/$name" ]; then
    old="$data/.$name.old.$$"
    mv "$data/$name" "$old"
    mv "$tmp" "$data/$name"
    rm -rf "$old"
  else
    mv "$tmp" "$data/$name"
  fi
  tmp=""
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  echo "data.sh: $name ready in $data/$name ($secs s)"
}

tmp=""  # the folder being built; removed if the script stops half-way
trap 'rm -rf "$tmp"' EXIT
for n in "${names[@]}"; do build_one "$n"; done
