#pragma once
// The JSON the API shows of servers and of the fleet's inventory (openapi.yaml: Server, ServerList,
// Inventory), built from the registry's typed rows.

#include <nlohmann/json.hpp>

#include "service/controller/server_registry.hpp"

namespace certdeploy::api {

nlohmann::json server_json(const store::ServerRow& row);
nlohmann::json server_page_json(const controller::ServerPage& page);
// {"certificates": [{thumbprint, subject, issuer, certificateDomains, notBefore, notAfter, friendlyName,
// servers: [{server, status, services, seenAt}]}], "next"}: one entry per thumbprint.
nlohmann::json inventory_json(const controller::InventoryPage& page);
// The pending requests among the inventory's rows (openapi.yaml: RequestList).
nlohmann::json requests_json(const controller::InventoryPage& page);

}  // namespace certdeploy::api
