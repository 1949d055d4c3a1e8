#pragma once
// A service of this server that uses a certificate — nginx, Postfix, HAProxy, a Java application — as the
// agent's configuration describes it: where its files go, in which layout, and how to reload it.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "service/error.hpp"
#include "service/pki/bundle.hpp"
#include "service/pki/pki_context.hpp"

namespace certdeploy::agent {

enum class Layout {
    pem_fullchain,  // certFile: leaf then chain; keyFile: key (nginx)
    pem_separate,   // certFile: leaf; chainFile: chain; keyFile: key (Apache, Postfix)
    pem_combined,   // certFile: key, leaf, chain in one file (HAProxy)
    pkcs12,         // certFile: PKCS #12 under the password in passwordFile (Java, Tomcat)
};

struct ServiceBinding {
    std::string name;
    Layout layout = Layout::pem_fullchain;
    std::filesystem::path certFile;
    std::optional<std::filesystem::path> keyFile;
    std::optional<std::filesystem::path> chainFile;
    std::optional<std::filesystem::path> passwordFile;
    std::optional<uid_t> owner;
    std::optional<gid_t> group;
    mode_t mode = 0600;
    std::vector<std::string> reload;  // argument vector; empty: nothing to reload
    std::chrono::milliseconds reloadTimeout{30'000};
};

// Parses the "services" object of the agent's configuration; the error names the service and the key.
Result<std::map<std::string, ServiceBinding>> parse_services(const nlohmann::json& services);

// Writes the certificate's files for `binding` atomically, runs the reload command under its timeout, and
// when it fails or times out puts every previous file back (or removes the ones that did not exist) and
// runs the reload again. Errors: no-private-key, reload-failed (with the exit status and the last lines of
// output), and the storage codes.
Result<void> apply_binding(const ServiceBinding& binding, const pki::Bundle& bundle, const pki::PkiContext& ctx);

}  // namespace certdeploy::agent
