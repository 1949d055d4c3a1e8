#pragma once
// The JSON the API shows of tokens and of the audit log (openapi.yaml: Token, TokenList, AuditPage).

#include <nlohmann/json.hpp>

#include "service/controller/access/audit_log.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::api {

// Never the secret nor its hash.
nlohmann::json token_json(const store::TokenRow& row);
nlohmann::json audit_page_json(const controller::AuditPage& page);

}  // namespace certdeploy::api
