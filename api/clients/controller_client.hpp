#pragma once
// The command-line client's connection to a controller: the public HTTP API only, over http:// or
// https:// (verified against the system's roots or a given CA file), so that it works against any
// controller. Blocking calls for a command that does one thing at a time; inside, the same coroutines as
// the rest of the code base, each step under a deadline.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "service/error.hpp"

namespace certdeploy::api {

class ControllerClient {
  public:
    struct Options {
        std::string url;      // http://HOST:PORT or https://HOST:PORT (a path prefix is kept)
        std::string ca_file;  // https: trust this CA (PEM) instead of the system's roots
        std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // each connect, write and read
        std::string token;  // sent as Authorization: Bearer; empty: none. Wiped with the client.
        // https: present this certificate and key (mutual TLS: an agent renewing its certificate).
        std::string cert_file;
        std::string key_file;
        // https: false skips checking the server's certificate. Only to fetch a CA that the caller then
        // checks against a pinned fingerprint, before anything is sent that matters.
        bool verify_server = true;
    };
    // Errors: invalid-config naming the URL or the CA file.
    static Result<std::unique_ptr<ControllerClient>> create(const Options& options);
    ~ControllerClient();
    ControllerClient(const ControllerClient&) = delete;
    ControllerClient& operator=(const ControllerClient&) = delete;

    struct Reply {
        unsigned status = 0;
        std::string content_type;
        std::string body;
    };
    using Headers = std::map<std::string, std::string>;

    // One request on a fresh connection. `body` (it may hold a password) is wiped once sent. Errors: io-error
    // naming the controller and the step (connect, TLS handshake, write, read) that failed.
    Result<Reply> request(std::string_view method, const std::string& target, std::string body = {},
                          const std::string& content_type = {}, const Headers& headers = {});

    // One Server-Sent Event.
    struct Event {
        std::string id;
        std::string type;
        std::string data;
    };
    // Reads the event stream at `target`, calling `on_event` for each event until the stream ends or
    // `on_event` returns false. A refusal (any status but 200) comes back as the Reply, not as an error.
    // `last_event_id` is sent as Last-Event-ID and updated as events arrive, so a caller can resume.
    Result<Reply> follow(const std::string& target, std::string& last_event_id,
                         const std::function<bool(const Event&)>& on_event);

    const std::string& url() const;

  private:
    struct Impl;
    explicit ControllerClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace certdeploy::api
