// From everything a file held to a deployable bundle: the leaf is the certificate that matches the
// private key, or without a key the one that issues none of the others; the chain follows issuers from
// the leaf to the root; duplicates are dropped.

#include <algorithm>

#include "service/pki/contents.hpp"

namespace certdeploy::pki::detail {
namespace {

void drop_duplicate_certificates(std::vector<FoundCertificate>& certs) {
    std::vector<FoundCertificate> unique;
    for (auto& found : certs) {
        auto same = std::find_if(unique.begin(), unique.end(), [&](const auto& u) { return u.cert == found.cert; });
        if (same == unique.end()) {
            unique.push_back(std::move(found));
        } else {
            if (same->friendly_name.empty()) {
                same->friendly_name = found.friendly_name;
            }
            if (same->local_key_id.empty()) {
                same->local_key_id = found.local_key_id;
            }
        }
    }
    certs = std::move(unique);
}

void drop_duplicate_keys(std::vector<FoundKey>& keys) {
    std::vector<FoundKey> unique;
    for (auto& found : keys) {
        const bool seen = std::any_of(unique.begin(), unique.end(),
                                      [&](const auto& u) { return EVP_PKEY_eq(u.key.get(), found.key.get()) == 1; });
        if (!seen) {
            unique.push_back(std::move(found));
        }
    }
    drain_errors();
    keys = std::move(unique);
}

Result<std::size_t> leaf_for_key(const std::vector<FoundCertificate>& certs, const FoundKey& key) {
    std::vector<std::size_t> matching;
    for (std::size_t i = 0; i < certs.size(); ++i) {
        if (certs[i].cert.matches_key(key.key.get())) {
            matching.push_back(i);
        }
    }
    if (matching.empty()) {
        return make_error(ErrorCode::key_mismatch,
                          certs.size() == 1 ? "the private key does not belong to the certificate"
                                            : "the private key belongs to none of the " + std::to_string(certs.size()) +
                                                  " certificates in the file");
    }
    if (matching.size() > 1 && !key.local_key_id.empty()) {
        // Several certificates for one key (a renewal kept the key): the bag attributes say which one.
        std::vector<std::size_t> tagged;
        std::copy_if(matching.begin(), matching.end(), std::back_inserter(tagged),
                     [&](std::size_t i) { return certs[i].local_key_id == key.local_key_id; });
        if (tagged.size() == 1) {
            return tagged.front();
        }
    }
    if (matching.size() > 1) {
        return make_error(ErrorCode::ambiguous_leaf, std::to_string(matching.size()) +
                                                         " certificates in the file match its private key and nothing "
                                                         "says which one to deploy");
    }
    return matching.front();
}

Result<std::size_t> leaf_without_key(const std::vector<FoundCertificate>& certs) {
    std::vector<std::size_t> leaves;
    for (std::size_t i = 0; i < certs.size(); ++i) {
        bool issues_another = false;
        for (std::size_t j = 0; j < certs.size() && !issues_another; ++j) {
            issues_another = i != j && certs[i].cert.issued(certs[j].cert);
        }
        if (!issues_another) {
            leaves.push_back(i);
        }
    }
    if (leaves.size() != 1) {
        return make_error(ErrorCode::ambiguous_leaf,
                          leaves.empty() ? "the certificates in the file issue one another in a circle"
                                         : "the file holds " + std::to_string(leaves.size()) +
                                               " certificates that issue none of the others, so which one to deploy "
                                               "is not clear");
    }
    return leaves.front();
}

}  // namespace

Result<Bundle> normalise(Contents contents) {
    drop_duplicate_certificates(contents.certs);
    drop_duplicate_keys(contents.keys);
    if (contents.keys.size() > 1) {
        return make_error(ErrorCode::ambiguous_leaf,
                          "the file holds " + std::to_string(contents.keys.size()) + " different private keys");
    }
    if (contents.certs.empty()) {
        return make_error(ErrorCode::no_certificate, contents.keys.empty()
                                                         ? "the file holds no certificate"
                                                         : "the file holds a private key but no certificate");
    }
    FoundKey* key = contents.keys.empty() ? nullptr : &contents.keys.front();
    auto leaf_index = key != nullptr ? leaf_for_key(contents.certs, *key) : leaf_without_key(contents.certs);
    if (!leaf_index) {
        return leaf_index.error();
    }

    std::vector<FoundCertificate> rest;
    for (std::size_t i = 0; i < contents.certs.size(); ++i) {
        if (i != *leaf_index) {
            rest.push_back(std::move(contents.certs[i]));
        }
    }
    FoundCertificate& leaf = contents.certs[*leaf_index];
    Bundle bundle{leaf.cert, {}, nullptr, {}, contents.format};
    const Certificate* current = &bundle.leaf;
    while (!current->is_self_signed()) {
        auto issuer = std::find_if(rest.begin(), rest.end(), [&](const auto& c) { return c.cert.issued(*current); });
        if (issuer == rest.end()) {
            break;
        }
        bundle.chain.push_back(std::move(issuer->cert));
        rest.erase(issuer);
        current = &bundle.chain.back();
    }
    for (auto& extra : rest) {
        bundle.chain.push_back(std::move(extra.cert));  // unrelated to the leaf, kept for the store
    }
    bundle.friendly_name = !leaf.friendly_name.empty() ? leaf.friendly_name : key != nullptr ? key->friendly_name : "";
    if (key != nullptr) {
        bundle.key = std::move(key->key);
    }
    return bundle;
}

}  // namespace certdeploy::pki::detail
