#!/bin/sh
# Regenerates the keys and certificates the fuzz targets load at start (OpenSSL 3.0 CLI).
# Not part of the build: the committed files are what the targets use. Running it again
# changes every key; recorded seeds (fuzz/corpus/*) stay valid inputs, but those holding a
# client certificate then carry one the servers no longer trust (re-record with
# fuzz/seeds.py).
#
#   ca.pem / ca.key           ECDSA P-256 root "CN=fuzz CA,O=mod_tls fuzzing": the trust anchor
#                             for client certificates, and the fuzz client's trusted root
#   server-ec.pem / .key      ECDSA P-256 leaf "CN=fuzz.test" (DNS fuzz.test, *.fuzz.test,
#                             IP 127.0.0.1), serial 2001
#   server-rsa.pem / .key     RSA 2048 leaf for the same names, serial 2002
#   client.pem / .key         ECDSA P-256 client certificate "CN=fuzz client", serial 1001
#   revoked.pem / .key        client certificate "CN=fuzz revoked client", serial 1A2B
#   ca.crl.pem                v2 CRL by ca (CRL number, AKI) revoking 1A2B, nextUpdate 2099
#   crl-anchors.pem           ca.pem and the client CAs of ffi/tests/data/clientauth (fuzz_crl)
# Everything is issued by ca.pem and valid 2020-01-01 .. 2099-01-01.
set -eu
cd "$(dirname "$0")"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
START=20200101000000Z
END=20990101000000Z

cat > "$T/ca.cnf" <<CNF
[ ca ]
default_ca = fuzz
[ fuzz ]
database = $T/index
new_certs_dir = $T
serial = $T/serial
crlnumber = $T/crlnumber
default_md = sha256
policy = any
unique_subject = no
preserve = yes
crl_extensions = crl_ext
[ any ]
organizationName = optional
commonName = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid:always
[ root ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:fuzz.test, DNS:*.fuzz.test, IP:127.0.0.1
authorityKeyIdentifier = keyid:always
[ client ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = email:client@fuzz.test
authorityKeyIdentifier = keyid:always
CNF
: > "$T/index"
echo 01 > "$T/crlnumber"

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
# sign OUT KEY SUBJECT EXTENSIONS SERIAL [-selfsign]
sign() {
    openssl req -new -key "$2" -subj "$3" -out "$T/req.csr"
    echo "$5" > "$T/serial"
    if [ "${6:-}" = -selfsign ]; then
        set -- "$@" -keyfile "$2"
    else
        set -- "$@" -cert ca.pem -keyfile ca.key
    fi
    out=$1 ext=$4
    shift 5
    openssl ca -batch -notext -config "$T/ca.cnf" "$@" -extensions "$ext" \
        -startdate $START -enddate $END -in "$T/req.csr" -out "$out" 2>/dev/null
}

ec_key ca.key
sign ca.pem ca.key "/O=mod_tls fuzzing/CN=fuzz CA" root 01 -selfsign
ec_key server-ec.key
sign server-ec.pem server-ec.key "/O=mod_tls fuzzing/CN=fuzz.test" server 2001
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server-rsa.key
sign server-rsa.pem server-rsa.key "/O=mod_tls fuzzing/CN=fuzz.test" server 2002
ec_key client.key
sign client.pem client.key "/O=mod_tls fuzzing/CN=fuzz client" client 1001
ec_key revoked.key
sign revoked.pem revoked.key "/O=mod_tls fuzzing/CN=fuzz revoked client" client 1A2B
openssl ca -batch -config "$T/ca.cnf" -cert ca.pem -keyfile ca.key -revoke revoked.pem \
    -crl_reason keyCompromise 2>/dev/null
openssl ca -batch -config "$T/ca.cnf" -cert ca.pem -keyfile ca.key -gencrl \
    -crl_lastupdate $START -crl_nextupdate $END -out ca.crl.pem 2>/dev/null

# The trust anchors of fuzz_crl: ca.pem and the three CAs of the crate's tests, whose CRLs
# (ffi/tests/data/clientauth/*.crl.*) are seeds of fuzz/corpus/crl.
T2=../../ffi/tests/data/clientauth
cat ca.pem "$T2/ca.pem" "$T2/rsa-ca.pem" "$T2/ed-ca.pem" > crl-anchors.pem
