#!/bin/sh
# Regenerates the fixtures of tests/client.rs (OpenSSL 3.0 CLI): a test CA, a backend
# certificate (DNS backend.example, IP 127.0.0.1 and ::1), a machine (client) certificate from
# the same CA, and a backend certificate for the same names from another, untrusted CA.
# Validity: 100 years from the day they are made.
set -eu
cd "$(dirname "$0")"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
DAYS="-days 36500"
ca() { # name subject
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -subj "/CN=$2" -days 36500 -out "$T/$1.tmp" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    cp "$T/$1.tmp" "$1.pem"
}
leaf() { # name ca subject extensions
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -subj "/CN=$3" -out "$T/$1.csr" 2>/dev/null
    printf '%s\n' "$4" > "$T/$1.ext"
    openssl x509 -req -in "$T/$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
        -extfile "$T/$1.ext" $DAYS -out "$1.pem" 2>/dev/null
    rm -f "$2.srl"
}
ca ca "tlsr proxy test CA"
ca other-ca "tlsr untrusted CA"
leaf backend ca backend.example "subjectAltName=DNS:backend.example,IP:127.0.0.1,IP:::1
extendedKeyUsage=serverAuth
basicConstraints=CA:FALSE"
leaf machine ca "proxy machine" "extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE"
leaf untrusted other-ca backend.example "subjectAltName=DNS:backend.example,IP:127.0.0.1
extendedKeyUsage=serverAuth
basicConstraints=CA:FALSE"
