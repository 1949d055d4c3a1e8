#include "api/controller/fleet_views.hpp"

namespace certdeploy::api {
namespace {

using nlohmann::json;

template <class T>
json optional_json(const std::optional<T>& value) {
    return value ? json(*value) : json(nullptr);
}

}  // namespace

json server_json(const store::ServerRow& row) {
    // Member by member: a braced list copies each value twice (into nlohmann's json_ref, then into the
    // object), and this answers every GET /v1/servers/{name}.
    json out(json::value_t::object);
    out["name"] = row.name;
    out["agentUrl"] = row.agentUrl;
    out["labels"] = row.labels;
    out["createdAt"] = row.createdAt;
    out["updatedAt"] = row.updatedAt;
    out["reachable"] = optional_json(row.reachable);
    out["agentVersion"] = optional_json(row.agentVersion);
    out["lastContact"] = optional_json(row.lastContact);
    out["pending"] = row.pending;
    out["identityExpiresAt"] = optional_json(row.identityNotAfter);
    return out;
}

json server_page_json(const controller::ServerPage& page) {
    json servers = json::array();
    for (const auto& row : page.servers) {
        servers.push_back(server_json(row));
    }
    return {{"servers", std::move(servers)}, {"next", optional_json(page.next)}};
}

json inventory_json(const controller::InventoryPage& page) {
    json certificates = json::array();
    for (const auto& row : page.rows) {
        // The agent's description of the certificate, as it last said.
        auto described = json::parse(row.certificateJson, nullptr, false);
        if (!described.is_object()) {
            described = json::object();
        }
        if (certificates.empty() || certificates.back()["thumbprint"] != row.thumbprint) {
            // A pending request has no date until its CA answers.
            json entry{{"thumbprint", row.thumbprint},
                       {"notAfter", row.notAfter.empty() ? json(nullptr) : json(row.notAfter)},
                       {"servers", json::array()}};
            for (const char* key : {"subject", "issuer", "certificateDomains", "notBefore", "friendlyName"}) {
                if (described.contains(key)) {
                    entry[key] = described[key];
                }
            }
            certificates.push_back(std::move(entry));
        }
        json services = described.contains("services") ? described["services"] : json::array();
        certificates.back()["servers"].push_back(
            {{"server", row.server}, {"status", row.status}, {"services", services}, {"seenAt", row.seenAt}});
    }
    return {{"certificates", std::move(certificates)}, {"next", optional_json(page.next)}};
}

json requests_json(const controller::InventoryPage& page) {
    json requests = json::array();
    for (const auto& row : page.rows) {
        auto described = json::parse(row.certificateJson, nullptr, false);
        if (!described.is_object()) {
            continue;
        }
        json entry{{"server", row.server}, {"id", row.thumbprint}, {"seenAt", row.seenAt}};
        for (const char* key : {"subject", "certificateDomains", "keyAlgorithm", "publicKeySize", "publicKeySha256",
                                "friendlyName", "privateKeyExportable", "requestedAt", "certificateRequest"}) {
            if (described.contains(key)) {
                entry[key] = described[key];
            }
        }
        requests.push_back(std::move(entry));
    }
    return {{"requests", std::move(requests)}, {"next", optional_json(page.next)}};
}

}  // namespace certdeploy::api
