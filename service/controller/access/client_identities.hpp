#pragma once
// API clients that prove who they are with a certificate instead of a bearer token (mutual TLS on the
// controller's API: clientCa). The configuration maps each certificate's common name to a role and an
// optional scope, exactly as a token has them:
//
//   "clientCertificates": {"deploy-bot": {"role": "operator", "scope": {"team": "mail"}}}
//
// The audit log names such a caller "cert:<common name>", so it cannot be mistaken for a token's name.

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "service/controller/access/caller.hpp"
#include "service/error.hpp"

namespace certdeploy::controller {

class ClientIdentities {
  public:
    ClientIdentities() = default;

    // The value of clientCertificates; errors name the entry and say what was expected.
    static Result<ClientIdentities> parse(const nlohmann::json& config);

    // The caller a verified certificate with this common name is, or nothing when it is not mapped.
    std::optional<Caller> find(const std::string& common_name) const;

    bool empty() const noexcept { return callers_.empty(); }

  private:
    std::map<std::string, Caller> callers_;  // by common name
};

}  // namespace certdeploy::controller
