#!/bin/sh
# Makes the certificates the fake-server TLS tests use (tests/it/client_cert.rs): a test CA,
# a server leaf for the name mail.test only (not 127.0.0.1: --tls-server-name's tests), a
# client leaf (CN bob) with its key alone and beside its certificate, an unrelated key, the
# client key encrypted, the server leaf renewed with the same key (--pin sha256//), and the
# server leaf expired (2020 to 2021, same key). Valid for 100 years; run again only to change them.
set -eu
cd "$(dirname "$0")"
days=36500
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key
openssl req -x509 -new -key ca.key -sha256 -days $days -subj "/CN=posthaste test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out ca.pem
leaf() { # name subject extensions [key: a new one unless given]
    [ $# -gt 3 ] || key "$1.key"
    openssl req -new -key "${4:-$1.key}" -subj "$2" -out "$1.csr"
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
        -days $days -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}
leaf server "/CN=mail.test" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:mail.test"
leaf server-renewed "/CN=mail.test" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:mail.test" server.key
leaf client "/CN=bob" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
cat client.pem client.key >client-combined.pem
# The server leaf, same key, expired: valid 2020-01-01 to 2021-01-01 (the fault matrix's
# expired row). openssl 3.0's x509 cannot back-date, `openssl ca` can.
expired() {
    t=$(mktemp -d)
    : >"$t/index.txt"
    printf '1000\n' >"$t/serial"
    cat >"$t/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $t/index.txt
serial = $t/serial
new_certs_dir = $t
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:mail.test
CNF
    openssl req -new -key server.key -subj "/CN=mail.test" -out "$t/leaf.csr"
    openssl ca -batch -config "$t/ca.cnf" -cert ca.pem -keyfile ca.key -extensions leaf \
        -startdate 20200101000000Z -enddate 20210101000000Z -notext \
        -in "$t/leaf.csr" -out server-expired.pem 2>/dev/null
    rm -rf "$t"
}
expired
key other.key
openssl pkcs8 -topk8 -in client.key -passout pass:secret -out client-encrypted.key
rm -f ca.srl
chmod 600 *.key client-combined.pem
