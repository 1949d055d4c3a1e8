#pragma once
// Reading an agent's answers back on the controller.

#include <nlohmann/json.hpp>
#include <string>

#include "api/agent_client.hpp"
#include "service/error.hpp"

namespace certdeploy::api {

// An agent's problem+json answer as the controller's Error: the agent's own code (wrong-password,
// certificate-in-use...) and message, prefixed with the server's name; agent-error when it is not one.
Error agent_refusal(const std::string& server, const AgentClient::Reply& reply);

// The controller was started without agentCa, agentClientCert and agentClientKey: agent-unreachable.
Error no_agent_tls();

// A successful JSON answer's body; agent-error when it is not a JSON object.
Result<nlohmann::json> agent_json(const std::string& server, const AgentClient::Reply& reply);

}  // namespace certdeploy::api
