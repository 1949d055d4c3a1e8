#pragma once
// TLS contexts: TLS 1.2 or later with forward-secret AEAD ciphers. Between the controller and its agents,
// mutual TLS: a peer that must present a certificate issued by the given CA, refused at the handshake
// otherwise. The controller's API: server authentication only.

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <optional>

#include "service/error.hpp"

namespace certdeploy::api {

// The agent's side: serves `cert_chain` (PEM, leaf first) with `key`, requires a client certificate
// issued by `client_ca`.
Result<std::shared_ptr<boost::asio::ssl::context>> make_mutual_tls_server(const std::filesystem::path& cert_chain,
                                                                          const std::filesystem::path& key,
                                                                          const std::filesystem::path& client_ca);

// The controller's API: serves `cert_chain` with `key` to any client (clients prove who they are with a
// bearer token). With `client_ca`, a client may instead present a certificate issued by that CA (asked for,
// not required; one from another CA fails the handshake): clientCa and clientCertificates.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_server(
    const std::filesystem::path& cert_chain, const std::filesystem::path& key,
    const std::optional<std::filesystem::path>& client_ca = std::nullopt);

// The controller's side: presents `cert_chain` with `key`, and trusts only servers issued by `server_ca`.
Result<std::shared_ptr<boost::asio::ssl::context>> make_mutual_tls_client(const std::filesystem::path& cert_chain,
                                                                          const std::filesystem::path& key,
                                                                          const std::filesystem::path& server_ca);

}  // namespace certdeploy::api
