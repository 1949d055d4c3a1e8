#pragma once
// A request as handlers see it: the message, its parsed target and the path's parameters.

#include <boost/url/url.hpp>
#include <map>
#include <string>

#include "api/net.hpp"

namespace certdeploy::api {

struct Request {
    HttpRequest message;
    boost::urls::url target;                    // origin-form, parsed once by the session
    std::map<std::string, std::string> params;  // "{thumbprint}" segments, percent-decoded
    std::string remote;                         // peer address, for the log
    std::string client;  // the verified client certificate's subject under mutual TLS, else empty
};

}  // namespace certdeploy::api
