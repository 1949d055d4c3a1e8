#!/usr/bin/env bash
# Makes, once, a certificate to try certdeploy with, as a CA would deliver it: DIR/example/root.pem (an
# example root CA, which run.sh's agents trust, so the certificate's status is Valid) and DIR/Fabrikam.pfx
# (mail.fabrikam.com and autodiscover.fabrikam.com, with its chain and key), protected by a random password
# kept in DIR/Fabrikam.password (mode 0600). Nothing is remade if DIR/Fabrikam.pfx exists.
set -euo pipefail
dir=${1:?usage: make-example-certificate.sh DIR}
[ -s "$dir/Fabrikam.pfx" ] && exit 0
umask 077
mkdir -p "$dir/example"
cd "$dir/example"
q() { openssl "$@" >/dev/null 2>&1; }
q req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem -days 3650 \
    -subj "/O=Fabrikam Example/CN=Fabrikam Example Root CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
q req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/O=Fabrikam/CN=mail.fabrikam.com"
printf '%s\n' "subjectAltName=DNS:mail.fabrikam.com,DNS:autodiscover.fabrikam.com" \
    "extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature,keyEncipherment" > leaf.ext
q x509 -req -in leaf.csr -CA root.pem -CAkey root.key -CAcreateserial -days 397 -extfile leaf.ext -out leaf.pem
# The password never appears on a command line: it goes from the file to openssl.
head -c 18 /dev/urandom | base64 | tr -d '/+=\n' > ../Fabrikam.password  # no newline: curl -F password=<file sends it all
q pkcs12 -export -in leaf.pem -inkey leaf.key -certfile root.pem -name "Fabrikam Mail" \
    -passout "file:../Fabrikam.password" -out ../Fabrikam.pfx
rm -f leaf.key leaf.csr leaf.ext
