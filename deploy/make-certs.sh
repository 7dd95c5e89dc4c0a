#!/bin/sh
# Makes the deployment's certificate authority and one certificate per
# identity, with openssl, for mutual TLS between the l3vpn services:
#
#   deploy/make-certs.sh [OUT_DIR] [NAMESPACE]
#     OUT_DIR    where the files go (default deploy/compose/certs, what
#                docker-compose.yml mounts)
#     NAMESPACE  the Kubernetes namespace, for the Services' DNS names (default l3vpn)
#
# Writes ca.pem (and ca-key.pem: keep it offline once the certificates are
# made), then <name>.pem and <name>-key.pem for:
#   labels, bgp, vpn  DNS SANs: the Compose host name, the Kubernetes Service
#                     names (l3vpn-<name>, l3vpn-<name>.<ns>, l3vpn-<name>.<ns>.svc),
#                     localhost; URI SAN spiffe://l3vpn/service/<name> (its principal)
#   agent-pe1         the example agent of node pe1: CN pe1, DNS SAN pe1 and
#                     URI SAN urn:l3vpn:node:pe1 (an agent's node identity)
#   operator          URI SAN spiffe://l3vpn/operator/${OPERATOR:-admin}: read-only
#                     calls to labels and bgp (grpcurl -cacert ca.pem -cert operator.pem -key operator-key.pem ...)
# What exists already is kept (run it again after deleting a file to renew
# that one; delete the folder for a new CA). Certificates last ${DAYS:-825} days.
set -eu

out=${1:-deploy/compose/certs}
ns=${2:-l3vpn}
days=${DAYS:-825}
operator=${OPERATOR:-admin}
umask 077
mkdir -p "$out"

if [ ! -f "$out/ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$out/ca-key.pem" -out "$out/ca.pem" -days "$days" \
    -subj "/O=l3vpn/CN=l3vpn deployment CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  echo "made the CA: $out/ca.pem"
fi

# issue NAME CN SANS
issue() {
  name=$1 cn=$2 sans=$3
  [ -f "$out/$name.pem" ] && return 0
  ext="$out/$name.ext"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$sans" > "$ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out/$name-key.pem" -out "$out/$name.csr" -subj "/O=l3vpn/CN=$cn" 2>/dev/null
  openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" -CAcreateserial \
    -days "$days" -extfile "$ext" -out "$out/$name.pem" 2>/dev/null
  rm -f "$out/$name.csr" "$ext"
  echo "issued $out/$name.pem ($sans)"
}

for s in labels bgp vpn; do
  issue "$s" "$s" "DNS:$s,DNS:l3vpn-$s,DNS:l3vpn-$s.$ns,DNS:l3vpn-$s.$ns.svc,DNS:localhost,URI:spiffe://l3vpn/service/$s"
done
issue agent-pe1 pe1 "DNS:pe1,URI:urn:l3vpn:node:pe1"
issue operator "$operator" "URI:spiffe://l3vpn/operator/$operator"
# The containers run as uid 1000 (node): the keys must be readable by it.
chmod 0644 "$out"/*.pem
chmod 0600 "$out/ca-key.pem"
