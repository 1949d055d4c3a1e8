#pragma once
// The servers the controller deploys to: each a name (a host name), its agent's HTTPS URL and labels that
// selectors match. Registered over the API or from the configuration file at start.

#include <cstddef>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "service/controller/access/caller.hpp"
#include "service/controller/enrolment/revoked_identities.hpp"
#include "service/error.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::controller {

struct ServerSpec {
    std::string agentUrl;  // https://HOST:PORT
    std::map<std::string, std::string> labels;
};

// out-of-scope: `names` are outside what `caller`'s token may reach.
Error out_of_scope(const Caller& caller, const std::vector<std::string>& names);

// {"agentUrl": "https://127.0.0.1:9001", "labels": {"role": "mailbox"}}; errors name the field.
Result<ServerSpec> parse_server_spec(const nlohmann::json& body);

// An inventory row from an agent's description of a certificate; nothing when the description lacks a
// string thumbprint, status or notAfter (an agent of another version, or a broken one).
std::optional<store::InventoryRow> inventory_row(const std::string& server, const nlohmann::json& certificate,
                                                 const std::string& seen_at);

struct PutOutcome {
    bool created = false;
    store::ServerRow server;
};

// A page of servers by name; `next` continues it.
struct ServerPage {
    std::vector<store::ServerRow> servers;
    std::optional<std::string> next;
};

// A page of the fleet's inventory: rows ordered by thumbprint then server, at most the filter's limit of
// thumbprints; `next` (a thumbprint) continues it.
struct InventoryPage {
    std::vector<store::InventoryRow> rows;
    std::optional<std::string> next;
};

class ServerRegistry {
  public:
    explicit ServerRegistry(std::shared_ptr<store::ControllerStore> store);

    // `pending`: a new server waits for approve() before any job is dispatched to it (an existing one keeps
    // its state).
    Result<PutOutcome> put(const std::string& name, const ServerSpec& spec, bool pending = false);
    // server-not-found, or the server, no longer pending.
    Result<store::ServerRow> approve(const std::string& name);
    // The server, or server-not-found.
    Result<store::ServerRow> get(const std::string& name) const;
    // Ordered by name; `after` is a previous page's `next`.
    Result<ServerPage> list(const std::string& after, std::size_t limit) const;
    // Forgets the server and revokes its enrolled agent's identities (added to `revocations`, if set).
    Result<void> remove(const std::string& name);
    void set_revocations(RevokedIdentities* revocations) { revocations_ = revocations; }
    // Adds the identities revoked in the store since (by another controller on the same database).
    Result<void> refresh_revocations();

    // Every registered server's name and agent URL, for the prober.
    Result<std::vector<std::pair<std::string, std::string>>> agents() const;
    // What a probe learned: reachable (with the agent's version), or not (lastContact stays the last success).
    Result<void> record_contact(const std::string& name, bool reachable, const std::optional<std::string>& version);
    // What the agent said it holds (its GET /agent/v1/certificates, asked at `asked_at`), as the fleet's
    // inventory for `name` — unless a target of that server finished since (false): the job's answer is newer.
    Result<bool> replace_inventory(const std::string& name, const nlohmann::json& certificates,
                                   const std::string& asked_at);
    Result<InventoryPage> inventory(const store::InventoryFilter& filter) const;
    // The names of the servers `caller` reaches; nothing for an unscoped caller (every server).
    Result<std::optional<std::set<std::string>>> reach(const Caller& caller) const;
    // The server, when `caller` reaches it: server-not-found, or out-of-scope naming it.
    Result<store::ServerRow> get_within(const std::string& name, const Caller& caller) const;

    // Whether get, get_within and agent_url may run on an I/O thread (the store's quick_reads()).
    bool quick_reads() const { return store_->quick_reads(); }

    // The agent URL of a registered server; server-not-found otherwise.
    Result<std::string> agent_url(const std::string& name) const;

    static constexpr std::size_t kDefaultPageSize = 100;
    static constexpr std::size_t kMaxPageSize = 1000;

  private:
    std::shared_ptr<store::ControllerStore> store_;
    RevokedIdentities* revocations_ = nullptr;
};

}  // namespace certdeploy::controller
