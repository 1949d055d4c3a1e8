#include "api/http/tls_context.hpp"

#include <openssl/ssl.h>

#include "service/try.hpp"

namespace certdeploy::api {
namespace ssl = boost::asio::ssl;

namespace {

Error tls_error(const std::string& what, const boost::system::error_code& ec) {
    return make_error(ErrorCode::invalid_config, what, ec.message());
}

// Forward secrecy and AEAD only for TLS 1.2 (TLS 1.3's suites are all of that kind already).
constexpr const char* kTls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL";

// Whether a server demands a client certificate (the agents) or only asks for one (the controller's API,
// where a bearer token is the other way in).
enum class ClientCert { required, optional };

// `peer_ca` empty: a server that asks for no client certificate (the controller's API, bearer tokens only).
Result<std::shared_ptr<ssl::context>> make_context(ssl::context::method method, const std::filesystem::path& cert_chain,
                                                   const std::filesystem::path& key,
                                                   const std::filesystem::path& peer_ca, bool server,
                                                   ClientCert client_cert = ClientCert::required) {
    auto ctx = std::make_shared<ssl::context>(method);
    boost::system::error_code ec;
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                         ssl::context::single_dh_use,
                     ec);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx->native_handle(), kTls12Ciphers);
    // Plaintext (request bodies carry passwords and keys) is wiped from OpenSSL's buffers once consumed;
    // renegotiation is never needed between controller and agents.
    SSL_CTX_set_options(ctx->native_handle(), SSL_OP_CLEANSE_PLAINTEXT | SSL_OP_NO_RENEGOTIATION);
    ctx->use_certificate_chain_file(cert_chain.string(), ec);
    if (ec) {
        return tls_error("cannot use the certificate " + cert_chain.string() + " (tlsCert)", ec);
    }
    ctx->use_private_key_file(key.string(), ssl::context::pem, ec);
    if (ec || SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        return tls_error("cannot use the private key " + key.string() + " (tlsKey) with " + cert_chain.string(), ec);
    }
    if (peer_ca.empty()) {
        ctx->set_verify_mode(ssl::verify_none, ec);
        return ctx;
    }
    ctx->load_verify_file(peer_ca.string(), ec);
    if (ec) {
        return tls_error("cannot read the CA file " + peer_ca.string(), ec);
    }
    const bool demand = client_cert == ClientCert::required;
    if (server) {
        // Tell clients which CA to present a certificate from.
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(peer_ca.c_str())) {
            SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
        }
        ctx->set_verify_mode(demand ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert : ssl::verify_peer, ec);
        // Verified session resumption needs a session id context, or OpenSSL fails the resumed handshake.
        static constexpr unsigned char kAgentContext[] = "certdeploy-agent";
        static constexpr unsigned char kApiContext[] = "certdeploy-api";
        SSL_CTX_set_session_id_context(ctx->native_handle(), demand ? kAgentContext : kApiContext,
                                       demand ? sizeof kAgentContext - 1 : sizeof kApiContext - 1);
        SSL_CTX_set_purpose(ctx->native_handle(), X509_PURPOSE_SSL_CLIENT);  // a clientAuth certificate
    } else {
        ctx->set_verify_mode(ssl::verify_peer, ec);
        SSL_CTX_set_purpose(ctx->native_handle(), X509_PURPOSE_SSL_SERVER);
    }
    if (ec) {
        return tls_error("cannot configure peer verification", ec);
    }
    return ctx;
}

}  // namespace

std::string peer_fingerprint(SSL* ssl) {
    X509* cert = SSL_get0_peer_certificate(ssl);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (cert == nullptr || X509_digest(cert, EVP_sha256(), digest, &size) != 1) {
        return {};
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string text = "sha256:";
    for (unsigned int i = 0; i < size; ++i) {
        text.push_back(kHex[digest[i] >> 4]);
        text.push_back(kHex[digest[i] & 0xF]);
    }
    return text;
}

Result<std::shared_ptr<ssl::context>> make_mutual_tls_server(const std::filesystem::path& cert_chain,
                                                             const std::filesystem::path& key,
                                                             const std::filesystem::path& client_ca) {
    return make_context(ssl::context::tls_server, cert_chain, key, client_ca, true);
}

Result<std::shared_ptr<ssl::context>> make_tls_server(const std::filesystem::path& cert_chain,
                                                      const std::filesystem::path& key,
                                                      const std::vector<std::filesystem::path>& client_cas) {
    if (client_cas.empty()) {
        return make_context(ssl::context::tls_server, cert_chain, key, {}, true);
    }
    CERTDEPLOY_TRY_ASSIGN(auto ctx, make_context(ssl::context::tls_server, cert_chain, key, client_cas.front(), true,
                                                 ClientCert::optional));
    for (std::size_t i = 1; i < client_cas.size(); ++i) {
        boost::system::error_code ec;
        ctx->load_verify_file(client_cas[i].string(), ec);
        STACK_OF(X509_NAME)* names = SSL_CTX_get_client_CA_list(ctx->native_handle());
        if (ec || names == nullptr || SSL_add_file_cert_subjects_to_stack(names, client_cas[i].c_str()) != 1) {
            return tls_error("cannot read the CA file " + client_cas[i].string(), ec);
        }
    }
    // Any purpose at the handshake: an agent renews with its server certificate. What a certificate may do
    // is decided per route (client certificates mapped to roles must be for clientAuth).
    SSL_CTX_set_purpose(ctx->native_handle(), X509_PURPOSE_ANY);
    return ctx;
}

Result<std::shared_ptr<ssl::context>> make_mutual_tls_client(const std::filesystem::path& cert_chain,
                                                             const std::filesystem::path& key,
                                                             const std::filesystem::path& server_ca) {
    return make_context(ssl::context::tls_client, cert_chain, key, server_ca, false);
}

}  // namespace certdeploy::api
