#include "service/codec/json_string.hpp"

#include <cstdint>

namespace certdeploy::codec {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The bytes a well-formed sequence starting with `lead` has (Unicode's table 3-7), and the range its second
// byte must fall in (the first lead bytes exclude overlong forms, ED the surrogates, F4 what lies beyond
// U+10FFFF); 0 for a byte no sequence starts with.
struct Lead {
    int length;
    std::uint8_t low;
    std::uint8_t high;
};

Lead lead_of(std::uint8_t byte) {
    if (byte >= 0xC2 && byte <= 0xDF) {
        return {2, 0x80, 0xBF};
    }
    if (byte == 0xE0) {
        return {3, 0xA0, 0xBF};
    }
    if (byte == 0xED) {
        return {3, 0x80, 0x9F};
    }
    if (byte >= 0xE1 && byte <= 0xEF) {
        return {3, 0x80, 0xBF};
    }
    if (byte == 0xF0) {
        return {4, 0x90, 0xBF};
    }
    if (byte >= 0xF1 && byte <= 0xF3) {
        return {4, 0x80, 0xBF};
    }
    if (byte == 0xF4) {
        return {4, 0x80, 0x8F};
    }
    return {0, 0, 0};
}

void append_escaped(std::string& out, std::uint8_t byte) {
    static constexpr char kHex[] = "0123456789abcdef";
    switch (byte) {
        case '\b':
            out += "\\b";
            return;
        case '\t':
            out += "\\t";
            return;
        case '\n':
            out += "\\n";
            return;
        case '\f':
            out += "\\f";
            return;
        case '\r':
            out += "\\r";
            return;
        case '"':
            out += "\\\"";
            return;
        case '\\':
            out += "\\\\";
            return;
        default:
            break;
    }
    if (byte <= 0x1F) {
        out += "\\u00";
        out += kHex[byte >> 4];
        out += kHex[byte & 0xF];
        return;
    }
    out += static_cast<char>(byte);
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    std::size_t i = 0;
    while (i < text.size()) {
        // A run of printable ASCII other than '"' and '\\' (most of a log line) is copied whole.
        std::size_t plain = i;
        while (plain < text.size() && static_cast<std::uint8_t>(text[plain]) >= 0x20 &&
               static_cast<std::uint8_t>(text[plain]) < 0x80 && text[plain] != '"' && text[plain] != '\\') {
            ++plain;
        }
        if (plain > i) {
            out.append(text.substr(i, plain - i));
            i = plain;
            continue;
        }
        const auto byte = static_cast<std::uint8_t>(text[i]);
        if (byte < 0x80) {
            append_escaped(out, byte);
            ++i;
            continue;
        }
        const Lead lead = lead_of(byte);
        if (lead.length == 0) {
            out += kReplacement;  // a byte no sequence starts with
            ++i;
            continue;
        }
        // The longest well-formed prefix: a sequence cut short by a byte that cannot continue it is one
        // replacement, and that byte is read again as the start of what follows.
        std::size_t end = i + 1;
        bool whole = true;
        for (int k = 1; k < lead.length; ++k, ++end) {
            if (end >= text.size()) {
                whole = false;
                break;
            }
            const auto next = static_cast<std::uint8_t>(text[end]);
            const std::uint8_t low = k == 1 ? lead.low : 0x80;
            const std::uint8_t high = k == 1 ? lead.high : 0xBF;
            if (next < low || next > high) {
                whole = false;
                break;
            }
        }
        if (whole) {
            out.append(text.substr(i, end - i));
        } else {
            out += kReplacement;
        }
        i = end;
    }
    out += '"';
}

}  // namespace certdeploy::codec
