#pragma once
// A JSON string literal appended to a buffer, quotes included: what nlohmann::json's dump does for a string
// with error_handler_t::replace and ensure_ascii off — '"', '\' and control characters escaped, valid UTF-8
// kept as it is, each invalid or cut-short UTF-8 sequence replaced by U+FFFD — byte for byte (a unit test
// compares the two over random bytes). It exists for the log: one line per request, where nlohmann's
// serializer (built per line, decoding through a table per byte) was a fifth of an API read's instructions.

#include <string>
#include <string_view>

namespace certdeploy::codec {

void append_json_string(std::string& out, std::string_view text);

}  // namespace certdeploy::codec
