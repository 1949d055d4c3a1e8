#include "store/reader_cache.hpp"

#include <cerrno>

namespace certdeploy::store {
namespace {

template <class Map>
const typename Map::mapped_type* find_in(const Map& map, const std::string& key) {
    auto found = map.find(key);
    return found == map.end() ? nullptr : &found->second;
}

// A full map starts again rather than choosing what to evict: the rows an API client asks for come back
// on the next requests, and this bounds the memory of a caller walking every server once.
template <class Map, class Row>
void keep_in(Map& map, const std::string& key, const Row& row) {
    if (map.size() >= ReaderCache::kMaxRows && map.find(key) == map.end()) {
        map.clear();
    }
    map.insert_or_assign(key, row);
}

}  // namespace

StoreResult<Statement> pin_snapshot(Connection& db, ReaderCache& cache) {
    CERTDEPLOY_TRY_ASSIGN(auto version, db.prepare("PRAGMA data_version"));
    CERTDEPLOY_TRY_ASSIGN(auto row, version.step());
    if (!row) {
        return StoreError{EIO, "PRAGMA data_version gave no row"};
    }
    cache.at_version(version.integer(0));
    return version;
}

void ReaderCache::at_version(std::int64_t data_version) {
    if (version_ != data_version) {
        tokens_.clear();
        servers_.clear();
        version_ = data_version;
    }
}

const TokenRow* ReaderCache::token(const std::string& secret_hash) const {
    return find_in(tokens_, secret_hash);
}

void ReaderCache::keep(const TokenRow& row) {
    keep_in(tokens_, row.secretHash, row);
}

const ServerRow* ReaderCache::server(const std::string& name) const {
    return find_in(servers_, name);
}

void ReaderCache::keep(const ServerRow& row) {
    keep_in(servers_, row.name, row);
}

}  // namespace certdeploy::store
