# Sourced by scripts/demo and scripts/test: a virtual environment in .venv with Mailroom installed.
# Works with Debian's own /usr/bin/python3 (externally managed, PEP 668): nothing is installed outside .venv.
# Usage: mailroom_venv EXTRAS   (EXTRAS: "" or "[test]")

need_packages() {  # apt-get install the Debian packages named, as root or with sudo; else say what is missing
  local missing=("$@")
  [ ${#missing[@]} -gt 0 ] || return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"
    else echo "mailroom: please install: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2; return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "mailroom: please install: ${missing[*]} (no apt-get on this machine)" >&2; return 1
  fi
  echo "mailroom: installing ${missing[*]} (apt-get)" >&2
  $sudo apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null || {
    echo "mailroom: could not install ${missing[*]}; install them and run this again" >&2; return 1; }
}

mailroom_venv() {
  local extras="$1" python="${PYTHON:-python3}"
  if ! command -v "$python" >/dev/null 2>&1; then
    need_packages python3 python3-venv || exit 1
  fi
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "mailroom: Python 3.11 or newer is needed ($python is $("$python" --version 2>&1))" >&2; exit 1
  fi
  if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' 2>/dev/null; then
    rm -rf .venv
    if ! "$python" -m venv .venv >/dev/null 2>&1; then
      rm -rf .venv
      need_packages "python3-venv" || exit 1
      "$python" -m venv .venv || { echo "mailroom: '$python -m venv' failed" >&2; exit 1; }
    fi
  fi
  local stamp=".venv/.installed$extras"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extras" || {
      echo "mailroom: pip could not install Mailroom into .venv (see above)" >&2; exit 1; }
    touch "$stamp"
  fi
}
