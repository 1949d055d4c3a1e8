#pragma once
// Decoding an agent's answers (HttpAgentApi, http_agent_api.cpp) into the controller's typed replies: what
// is not the shape expected becomes agent-error naming the server, a refusal the agent's own code.

#include <nlohmann/json.hpp>
#include <string>

#include "api/clients/agent_client.hpp"
#include "service/controller/agent_api.hpp"
#include "service/error.hpp"

namespace certdeploy::api {

// An agent's problem+json answer as the controller's Error: the agent's own code and message, prefixed with
// the server's name; agent-error when it is not one of the known codes.
Error refusal(const std::string& server, const AgentClient::Reply& reply);

// A successful answer's JSON object; agent-error when it is not one.
Result<nlohmann::json> reply_object(const std::string& server, const AgentClient::Reply& reply);

// GET /agent/v1/health: the version, when the answer says one.
controller::AgentApi::Health health_reply(const AgentClient::Reply& reply);

// GET /agent/v1/certificates: an object with a "certificates" array.
Result<nlohmann::json> list_reply(const std::string& server, const AgentClient::Reply& reply);

// PUT /agent/v1/certificates/{thumbprint}: installed (201) or alreadyInstalled (200), unless it says otherwise.
Result<controller::AgentApi::Installed> install_reply(const std::string& server, const AgentClient::Reply& reply);

// POST /agent/v1/requests: requested (201) or alreadyRequested (200), with the request's description.
Result<controller::AgentApi::Installed> request_reply(const std::string& server, const AgentClient::Reply& reply);

}  // namespace certdeploy::api
