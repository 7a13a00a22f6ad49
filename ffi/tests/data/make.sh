#!/bin/sh
# Regenerates the test certificates and keys in this directory (OpenSSL 3.0 CLI).
# The committed files are what the tests use; running this changes keys and serials, but the
# validity dates are fixed so the tests' expected timestamps stay right:
#   root, intermediate, leaves: 2024-01-01 00:00:00Z .. 2124-01-01 00:00:00Z
#   expired.pem:                1999-12-31 23:59:59Z .. 2001-01-01 00:00:00Z
# Chain: ca.pem (root) -> int.pem (intermediate) -> every leaf (SAN localhost, test.example).
# Client authentication fixtures (client CAs, client certificates, CRLs) are in clientauth/,
# made by clientauth/make.sh; the x509/ certificates by x509/make.sh.
set -eu
cd "$(dirname "$0")"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/new"
: > "$T/index.txt"
echo 1000 > "$T/serial"
cat > "$T/ca.cnf" <<CNF
[ ca ]
default_ca = tlsr_ca
[ tlsr_ca ]
database = $T/index.txt
new_certs_dir = $T/new
serial = $T/serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
commonName = supplied
[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_int ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, DNS:test.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

START=20240101000000Z
END=21240101000000Z

# sign NAME ISSUER_CERT ISSUER_KEY EXTENSIONS [START END]: NAME.csr in $T -> NAME.pem here
sign() {
    openssl ca -batch -notext -config "$T/ca.cnf" -cert "$2" -keyfile "$3" -extensions "$4" \
        -startdate "${5:-$START}" -enddate "${6:-$END}" -in "$T/$1.csr" -out "$1.pem" 2>/dev/null
}
csr() { openssl req -new -key "$2" -subj "/CN=$3" -out "$T/$1.csr"; }
ec() { openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$2" -out "$1"; }

# root (self-signed) and intermediate, both ECDSA P-256
ec ca.key P-256
csr ca ca.key "tlsr test root"
openssl ca -batch -notext -config "$T/ca.cnf" -selfsign -keyfile ca.key -extensions v3_root \
    -startdate $START -enddate $END -in "$T/ca.csr" -out ca.pem 2>/dev/null
ec int.key P-256
csr int int.key "tlsr test intermediate"
sign int ca.pem ca.key v3_int

# leaves; keys as PKCS#8 ("PRIVATE KEY") and in the traditional formats
ec ec256.pkcs8.key P-256
openssl ec -in ec256.pkcs8.key -out ec256.sec1.key 2>/dev/null          # "EC PRIVATE KEY"
ec ec384.pkcs8.key P-384
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048.pkcs8.key
openssl rsa -in rsa2048.pkcs8.key -traditional -out rsa2048.pkcs1.key 2>/dev/null  # "RSA PRIVATE KEY"
openssl genpkey -algorithm ED25519 -out ed25519.pkcs8.key
for k in ec256 ec384 rsa2048 ed25519; do
    csr $k $k.pkcs8.key "tlsr test $k"
    sign $k int.pem int.key v3_leaf
    cat $k.pem int.pem > $k.chain.pem
done

# an expired leaf (UTCTime 1999 -> 2001, exercising the 50-year rule)
ec expired.key P-256
csr expired expired.key "tlsr test expired"
sign expired int.pem int.key v3_leaf 19991231235959Z 20010101000000Z

# keys that cannot be used
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.key
ec ec521.key P-521
openssl pkcs8 -topk8 -in ec256.pkcs8.key -v2 aes-256-cbc -passout pass:test -out ec256.enc.key
openssl rsa -in rsa2048.pkcs8.key -traditional -aes128 -passout pass:test -out rsa2048.enc.key 2>/dev/null
echo "test data regenerated in $(pwd)"
