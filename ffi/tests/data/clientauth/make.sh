#!/bin/sh
# Regenerates the client authentication fixtures in this directory (OpenSSL 3.0 CLI), for
# tests/clientauth.rs. Not part of the build: the committed files are what the tests use.
# Running it again changes keys and signatures; names, serials and dates stay as below, which
# is what the tests check.
#
# Trust anchors (what a server trusts) and the client certificates they issued:
#   ca.pem        ECDSA P-256 root "CN=tlsr client CA,O=tlsr tests"
#     int.pem       intermediate (serial 0100) "CN=tlsr client intermediate,O=tlsr tests"
#       deep.pem      leaf 1006 (deep.chain.pem: deep.pem + int.pem)
#     short.pem     intermediate (serial 0200) "CN=tlsr short-lived intermediate,O=tlsr tests",
#                   valid 2020-01-01 .. 2030-01-01
#       short-deep.chain.pem  leaf 1007 + short.pem (the leaf outlives its CA)
#     alice.pem     leaf 1001
#     revoked.pem   leaf 1A2B (listed in ca.crl.pem)
#     expired.pem   leaf 1003, valid 2020-01-01 .. 2021-01-01
#     notyet.pem    leaf 1004, valid 2090-01-01 .. 2099-01-01
#   rsa-ca.pem    RSA 2048 root "CN=tlsr client RSA CA,O=tlsr tests"
#     rsa-alice.pem 2001, rsa-revoked.pem 2002 (listed in rsa*.crl.pem)
#   ed-ca.pem     Ed25519 root "CN=tlsr client Ed25519 CA"
#     ed-alice.pem  3001, ed-revoked.pem 3002 (listed in ed.crl.pem)
#   other-ca.pem  ECDSA P-256 "CN=tlsr other CA,O=tlsr tests", not trusted by the tests' servers
#     stranger.pem  leaf 1005
# Every leaf has the key leaf.key (ECDSA P-256, PKCS#8), extendedKeyUsage clientAuth and is
# valid 2020-01-01 .. 2099-01-01 unless said otherwise; so are the CAs.
#
# CRLs (thisUpdate 2020-01-01, nextUpdate 2099-01-01 unless said otherwise):
#   ca.crl.pem / ca.crl.der  by ca.pem, v2 (CRL number, AKI), revokes 1A2B (keyCompromise)
#   ca-sha384.crl.pem        the same, signed ecdsa-with-SHA384
#   ca-int.crl.pem           by ca.pem, revokes the intermediate 0100
#   ca-expired.crl.pem       by ca.pem, nothing revoked, nextUpdate 2021-01-01
#   ca-idp.crl.pem           by ca.pem, with a critical issuingDistributionPoint
#   rsa.crl.pem              by rsa-ca.pem, v1 (no extensions), sha256WithRSAEncryption, revokes 2002
#   rsa-pss.crl.pem          the same, rsassaPss (SHA-256, MGF1 SHA-256, salt 32)
#   rsa-sha512.crl.pem       the same, sha512WithRSAEncryption
#   ed.crl.pem               by ed-ca.pem, Ed25519, revokes 3002
#   other.crl.pem            by other-ca.pem (an issuer the server does not trust)
#   forged.crl.pem           issuer name of ca.pem, signed by another key
#   two.crl.pem              ca.crl.pem and rsa.crl.pem in one file
set -eu
cd "$(dirname "$0")"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

START=20200101000000Z
END=20990101000000Z

# One openssl-ca database per CA, selected with -name.
conf() {
    for ca in ca int short rsa-ca ed-ca other-ca impostor; do
        mkdir -p "$T/$ca.new"
        : > "$T/$ca.index"
        echo 01 > "$T/$ca.crlnumber"
        cat <<CNF
[ $ca ]
database = $T/$ca.index
new_certs_dir = $T/$ca.new
serial = $T/serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
preserve = yes
CNF
        if [ "$ca" != rsa-ca ]; then
            # v2 CRLs with extensions; rsa-ca makes v1 CRLs (no crlnumber, no extensions).
            echo "crlnumber = $T/$ca.crlnumber"
            echo "crl_extensions = crl_ext"
        fi
    done
    cat <<CNF
[ policy_any ]
organizationName = optional
commonName = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid:always
[ crl_idp ]
authorityKeyIdentifier = keyid:always
issuingDistributionPoint = critical, @idp
[ idp ]
fullname = URI:http://crl.test/ca.crl
onlysomereasons = keyCompromise
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
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
}
conf > "$T/ca.cnf"

ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
csr() { openssl req -new -key "$1" -subj "$2" -out "$T/req.csr"; }
# root NAME KEY SUBJECT: a self-signed CA NAME.pem
root() {
    csr "$2" "$3"
    echo 01 > "$T/serial"
    openssl ca -batch -notext -config "$T/ca.cnf" -name "$1" -selfsign -keyfile "$2" \
        -extensions v3_root -startdate $START -enddate $END -in "$T/req.csr" -out "$1.pem" \
        2>/dev/null
}
# issue CA SERIAL OUT SUBJECT EXTENSIONS KEY [START END]
issue() {
    csr "$6" "$4"
    echo "$2" > "$T/serial"
    openssl ca -batch -notext -config "$T/ca.cnf" -name "$1" -cert "$1.pem" \
        -keyfile "$T/$1.key" -extensions "$5" -startdate "${7:-$START}" -enddate "${8:-$END}" \
        -in "$T/req.csr" -out "$3" 2>/dev/null
}
# crl CA OUT [options]: a CRL of everything revoked so far in CA's database
crl() {
    ca=$1 out=$2
    shift 2
    openssl ca -batch -config "$T/ca.cnf" -name "$ca" -cert "$ca.pem" -keyfile "$T/$ca.key" \
        -gencrl -crl_lastupdate $START -crl_nextupdate $END "$@" -out "$out" 2>/dev/null
}
# revoke CA CERT [options]
revoke() {
    ca=$1 cert=$2
    shift 2
    openssl ca -batch -config "$T/ca.cnf" -name "$ca" -cert "$ca.pem" -keyfile "$T/$ca.key" \
        -revoke "$cert" "$@" 2>/dev/null
}

ec leaf.key
ec "$T/ca.key"
root ca "$T/ca.key" "/O=tlsr tests/CN=tlsr client CA"
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa-ca.key"
root rsa-ca "$T/rsa-ca.key" "/O=tlsr tests/CN=tlsr client RSA CA"
openssl genpkey -algorithm ED25519 -out "$T/ed-ca.key"
root ed-ca "$T/ed-ca.key" "/CN=tlsr client Ed25519 CA"
ec "$T/other-ca.key"
root other-ca "$T/other-ca.key" "/O=tlsr tests/CN=tlsr other CA"
ec "$T/impostor.key"
root impostor "$T/impostor.key" "/O=tlsr tests/CN=tlsr client CA"

ec "$T/int.key"
issue ca 0100 int.pem "/O=tlsr tests/CN=tlsr client intermediate" v3_int "$T/int.key"
issue ca 1001 alice.pem "/O=tlsr tests/CN=alice" v3_leaf leaf.key
issue ca 1A2B revoked.pem "/O=tlsr tests/CN=revoked" v3_leaf leaf.key
issue ca 1003 expired.pem "/O=tlsr tests/CN=expired" v3_leaf leaf.key 20200101000000Z 20210101000000Z
issue ca 1004 notyet.pem "/O=tlsr tests/CN=not yet" v3_leaf leaf.key 20900101000000Z $END
issue int 1006 deep.pem "/O=tlsr tests/CN=deep" v3_leaf leaf.key
cat deep.pem int.pem > deep.chain.pem
ec "$T/short.key"
issue ca 0200 short.pem "/O=tlsr tests/CN=tlsr short-lived intermediate" v3_int "$T/short.key" \
    $START 20300101000000Z
issue short 1007 "$T/short-deep.pem" "/O=tlsr tests/CN=short deep" v3_leaf leaf.key
cat "$T/short-deep.pem" short.pem > short-deep.chain.pem
issue other-ca 1005 stranger.pem "/O=tlsr tests/CN=stranger" v3_leaf leaf.key
issue rsa-ca 2001 rsa-alice.pem "/O=tlsr tests/CN=rsa alice" v3_leaf leaf.key
issue rsa-ca 2002 rsa-revoked.pem "/O=tlsr tests/CN=rsa revoked" v3_leaf leaf.key
issue ed-ca 3001 ed-alice.pem "/CN=ed alice" v3_leaf leaf.key
issue ed-ca 3002 ed-revoked.pem "/CN=ed revoked" v3_leaf leaf.key

# CRLs
crl ca ca-expired.crl.pem -crl_nextupdate 20210101000000Z
revoke ca revoked.pem -crl_reason keyCompromise
crl ca ca.crl.pem
openssl crl -in ca.crl.pem -outform DER -out ca.crl.der
crl ca ca-sha384.crl.pem -md sha384
crl ca ca-idp.crl.pem -crlexts crl_idp
# a database with only the intermediate revoked
mv "$T/ca.index" "$T/ca.index.all"
: > "$T/ca.index"
revoke ca int.pem -crl_reason cACompromise
crl ca ca-int.crl.pem
revoke rsa-ca rsa-revoked.pem
crl rsa-ca rsa.crl.pem
crl rsa-ca rsa-pss.crl.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
crl rsa-ca rsa-sha512.crl.pem -md sha512
revoke ed-ca ed-revoked.pem
crl ed-ca ed.crl.pem -md default
crl other-ca other.crl.pem
crl impostor forged.crl.pem
rm impostor.pem
cat ca.crl.pem rsa.crl.pem > two.crl.pem
echo "client authentication fixtures regenerated in $(pwd)"
