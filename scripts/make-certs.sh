#!/bin/sh
# make-certs.sh DIR ID... makes the certificates of docs/tls.md with openssl:
#   peer-ca.crt/.key       the cluster CA for peer mutual TLS ([tls] peer_ca_file)
#   node<ID>.crt/.key      each node's peer certificate, naming seshat://node/<ID>
#   client-ca.crt/.key     the CA of the client port: it signs the port's
#                          certificate and the clients' certificates
#   server.crt/.key        the client port's certificate ([tls] client_cert_file);
#                          its names come from $SERVER_SAN (default
#                          DNS:localhost,IP:127.0.0.1)
#   app.crt/.key           one client certificate, for redis-cli --cert
# Existing CAs are kept, so running it again with a new id adds a node.
# Keys are written mode 600; keep the CA keys off the nodes.
set -eu
if [ $# -lt 2 ]; then
	echo "usage: $0 DIR NODE_ID..." >&2
	exit 2
fi
dir=$1
shift
mkdir -p "$dir"
cd "$dir"
umask 077
days=825

ca() { # name subject
	[ -f "$1.key" ] && return 0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.crt" -days 3650 -subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

leaf() { # name ca subject extendedKeyUsage subjectAltName
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "/CN=$3" 2>/dev/null
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' "$4" >"$1.ext"
	[ -n "$5" ] && printf 'subjectAltName=%s\n' "$5" >>"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial \
		-out "$1.crt" -days "$days" -extfile "$1.ext" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

ca peer-ca "seshat peer CA"
for id in "$@"; do
	# A node both dials and accepts: serverAuth and clientAuth.
	leaf "node$id" peer-ca "seshat node $id" serverAuth,clientAuth "URI:seshat://node/$id"
done
ca client-ca "seshat client CA"
leaf server client-ca "seshat" serverAuth "${SERVER_SAN:-DNS:localhost,IP:127.0.0.1}"
leaf app client-ca "seshat app" clientAuth ""
chmod 644 ./*.crt
echo "certificates in $dir:" >&2
ls "$PWD" >&2
