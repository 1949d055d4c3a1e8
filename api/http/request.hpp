#pragma once
// A request as handlers see it: the message, its parsed target and the path's parameters.

#include <boost/url/url.hpp>
#include <functional>
#include <map>
#include <string>

#include "api/http/net.hpp"

namespace certdeploy::api {

// A response body written over time (Server-Sent Events). `write` sends one chunk and answers false once
// the client is gone or the server is shutting down: the producer returns then.
struct BodyWriter {
    std::function<asio::awaitable<bool>(std::string)> write;
    std::function<bool()> closing;
};
using BodyProducer = std::function<asio::awaitable<void>(BodyWriter&)>;

struct Request {
    HttpRequest message;
    boost::urls::url target;                    // origin-form, parsed once by the session
    std::map<std::string, std::string> params;  // "{thumbprint}" segments, percent-decoded
    std::string route;                          // the matched pattern ("/v1/jobs/{id}"): metrics' bounded label
    std::string remote;                         // peer address, for the log
    std::string client;              // the verified client certificate's subject under mutual TLS, else empty
    std::string client_cn;           // its common name (the controller maps it to an identity: clientCertificates)
    std::string client_fingerprint;  // sha256:<hex> of its DER (an agent's identity when it renews)
    bool client_auth = false;        // its extended key usage allows client authentication
    // Set by a handler whose 200 answer streams: the server sends the response's header with chunked
    // encoding, then lets the producer write, then ends the body and closes the connection.
    BodyProducer stream;
};

}  // namespace certdeploy::api
