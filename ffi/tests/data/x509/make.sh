#!/bin/sh
# Regenerates the certificates in this directory (OpenSSL 3.0 CLI), for tests/x509.rs, which
# compares what tlsr_x509_* print with what `openssl x509` prints for each *.pem here.
# Keys are thrown away; only the certificates are kept.
set -eu
cd "$(dirname "$0")"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/new"
: > "$T/index.txt"
echo 01 > "$T/serial"
cat > "$T/ca.cnf" <<CNF
[ ca ]
default_ca = x
[ x ]
database = $T/index.txt
new_certs_dir = $T/new
serial = $T/serial
default_md = sha256
policy = any
unique_subject = no
preserve = yes
utf8 = yes
[ any ]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = optional
userId = optional
emailAddress = optional
domainComponent = optional
serialNumber = optional
title = optional
givenName = optional
surname = optional
initials = optional
description = optional
streetAddress = optional
postalCode = optional
[ req ]
distinguished_name = dn
string_mask = utf8only
utf8 = yes
x509_extensions = v3
[ dn ]
[ v3 ]
basicConstraints = critical, CA:FALSE
subjectKeyIdentifier = hash
[ san ]
subjectAltName = DNS:www.example.test, email:admin@example.test, IP:192.0.2.1, DNS:*.example.test, URI:https://example.test/, email:second@example.test
CNF
CA="../ca.pem"
CAKEY="../ca.key"

key() { # file algorithm [options...]
    f=$1; a=$2; shift 2
    openssl genpkey -quiet -algorithm "$a" "$@" -out "$T/$f" 2>/dev/null ||
        openssl genpkey -algorithm "$a" "$@" -out "$T/$f"
}
# selfsigned NAME KEY SUBJECT [req options...]: NAME.pem, self-signed, v3
selfsigned() {
    n=$1; k=$2; s=$3; shift 3
    openssl req -config "$T/ca.cnf" -new -x509 -key "$T/$k" -subj "$s" -multivalue-rdn -days 3650 "$@" -out "$n.pem"
}
# issued NAME KEY SUBJECT START END [ca options...]: NAME.pem, issued by ../ca.pem
issued() {
    n=$1; k=$2; s=$3; from=$4; until=$5; shift 5
    openssl req -config "$T/ca.cnf" -new -key "$T/$k" -subj "$s" -multivalue-rdn -out "$T/$n.csr"
    openssl ca -batch -notext -config "$T/ca.cnf" -cert "$CA" -keyfile "$CAKEY" -preserveDN \
        -startdate "$from" -enddate "$until" "$@" -in "$T/$n.csr" -out "$n.pem" 2>/dev/null
}

key rsa.key RSA -pkeyopt rsa_keygen_bits:2048
key pss.key RSA-PSS -pkeyopt rsa_keygen_bits:2048
key p256.key EC -pkeyopt ec_paramgen_curve:P-256
key p384.key EC -pkeyopt ec_paramgen_curve:P-384
key p521.key EC -pkeyopt ec_paramgen_curve:P-521
key ed25519.key ED25519
key ed448.key ED448
openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -out "$T/dsa.params" 2>/dev/null
openssl genpkey -paramfile "$T/dsa.params" -out "$T/dsa.key"

# key types and signature algorithms (self-signed)
selfsigned rsa-sha1 rsa.key "/CN=rsa sha1" -sha1
selfsigned rsa-sha256 rsa.key "/CN=rsa sha256" -sha256
selfsigned rsa-sha384 rsa.key "/CN=rsa sha384" -sha384
selfsigned rsa-sha512 rsa.key "/CN=rsa sha512" -sha512
selfsigned rsa-pss-sig rsa.key "/CN=rsa key, pss signature" -sha256 -sigopt rsa_padding_mode:pss
selfsigned rsa-pss-key pss.key "/CN=rsa-pss key" -sha256
selfsigned p256 p256.key "/CN=p256" -sha256
selfsigned p384 p384.key "/CN=p384" -sha384
selfsigned p521 p521.key "/CN=p521" -sha512
selfsigned ed25519 ed25519.key "/CN=ed25519"
selfsigned ed448 ed448.key "/CN=ed448"
selfsigned dsa dsa.key "/CN=dsa" -sha256

# serial numbers
selfsigned serial-negative p256.key "/CN=negative serial" -set_serial -5
selfsigned serial-zero p256.key "/CN=zero serial" -set_serial 0
selfsigned serial-highbit p256.key "/CN=high bit serial" -set_serial 0x80
selfsigned serial-long p256.key "/CN=long serial" \
    -set_serial 0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728

# names: multi-valued RDNs, several OUs, RFC 2253 escapes, UTF-8, every mod_ssl attribute;
# issued by ../ca.pem (v3 with SANs, or v1 without extensions); dates before 1950 and after
# 2049 (GeneralizedTime), and just before 2050 (UTCTime)
issued names p256.key "/C=DE/ST=Baden-Württemberg/L=Stuttgart/O=Example, Inc./OU=Unit A/OU=Unit B/OU=Unit C/CN=a.example.test+UID=jdoe/emailAddress=jdoe@example.test/DC=example/DC=test/serialNumber=1234/title=Dr./GN=Jörg/SN=Müller/initials=JM/description=#hash \"quoted\" <a>;b\\\\c=d/street=Hauptstraße 1/postalCode=70173" \
    19000101000000Z 20491231235959Z -extensions san -extfile "$T/ca.cnf"
issued escapes p256.key "/CN=#leading hash/OU= leading space/OU=trailing space /O=#/L= /ST=a\\+b/CN=日本語 テスト/CN=ctl$(printf '\001')x$(printf '\177')y" \
    20500101000000Z 99991231235959Z
issued days p256.key "/CN=single digit day+O=multi+OU=valued" 20260308031600Z 20261108235959Z
issued empty-subject p256.key "/" 20240101000000Z 20340101000000Z -extensions san -extfile "$T/ca.cnf"

# version 1: no extensions at all
openssl req -config "$T/ca.cnf" -new -key "$T/p256.key" -subj "/CN=v1 certificate/O=Old" -out "$T/v1.csr"
openssl x509 -req -in "$T/v1.csr" -CA "$CA" -CAkey "$CAKEY" -set_serial 4660 -days 3650 -out v1.pem 2>/dev/null

echo "x509 test certificates regenerated in $(pwd)"
