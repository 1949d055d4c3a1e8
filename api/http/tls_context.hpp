#pragma once
// TLS contexts: TLS 1.2 or later with forward-secret AEAD ciphers. Between the controller and its agents,
// mutual TLS: a peer that must present a certificate issued by the given CA, refused at the handshake
// otherwise. The controller's API: server authentication only.

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "service/error.hpp"

namespace certdeploy::api {

// The agent's side: serves `cert_chain` (PEM, leaf first) with `key`, requires a client certificate
// issued by `client_ca`.
Result<std::shared_ptr<boost::asio::ssl::context>> make_mutual_tls_server(const std::filesystem::path& cert_chain,
                                                                          const std::filesystem::path& key,
                                                                          const std::filesystem::path& client_ca);

// The controller's API: serves `cert_chain` with `key` to any client (clients prove who they are with a
// bearer token). With `client_cas`, a client may also present a certificate issued by one of them (asked
// for, never required; one from another CA fails the handshake): API clients by certificate (clientCa,
// whose certificates must also be for clientAuth: the access guard checks), and agents renewing their
// certificate (the fleet CA; the enrolment routes check the certificate is a live agent identity).
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_server(
    const std::filesystem::path& cert_chain, const std::filesystem::path& key,
    const std::vector<std::filesystem::path>& client_cas = {});

// The controller's side: presents `cert_chain` with `key`, and trusts only servers issued by `server_ca`.
Result<std::shared_ptr<boost::asio::ssl::context>> make_mutual_tls_client(const std::filesystem::path& cert_chain,
                                                                          const std::filesystem::path& key,
                                                                          const std::filesystem::path& server_ca);

// "sha256:<hex>" of the certificate the peer of `ssl` presented; empty when none.
std::string peer_fingerprint(SSL* ssl);

}  // namespace certdeploy::api
