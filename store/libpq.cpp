#include "store/libpq.hpp"

#include <dlfcn.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace certdeploy::store {
namespace {

constexpr const char* kLibrary = "libpq.so.5";  // libpq's soname since PostgreSQL 8.2

struct Loaded {
    Libpq table;
    std::string error;  // empty: every function resolved
};

template <class Function>
void resolve(void* library, const char* name, Function& out, std::string& error) {
    void* symbol = ::dlsym(library, name);
    if (symbol == nullptr) {
        if (error.empty()) {
            error = std::string(kLibrary) + " has no " + name;
        }
        return;
    }
    out = reinterpret_cast<Function>(symbol);
}

Loaded load() {
    Loaded loaded;
    // Never closed: libpq keeps process-wide state (its SSL and thread set-up) for the process's life.
    void* library = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* why = ::dlerror();
        loaded.error = std::string("the PostgreSQL client library cannot be loaded (install libpq5): ") +
                       (why != nullptr ? why : kLibrary);
        return loaded;
    }
    Libpq& t = loaded.table;
    std::string& e = loaded.error;
    resolve(library, "PQconnectdbParams", t.connectdb_params, e);
    resolve(library, "PQconninfoParse", t.conninfo_parse, e);
    resolve(library, "PQconninfoFree", t.conninfo_free, e);
    resolve(library, "PQfreemem", t.freemem, e);
    resolve(library, "PQstatus", t.status, e);
    resolve(library, "PQerrorMessage", t.error_message, e);
    resolve(library, "PQsetNoticeProcessor", t.set_notice_processor, e);
    resolve(library, "PQfinish", t.finish, e);
    resolve(library, "PQexec", t.exec, e);
    resolve(library, "PQexecParams", t.exec_params, e);
    resolve(library, "PQresultStatus", t.result_status, e);
    resolve(library, "PQresultErrorField", t.result_error_field, e);
    resolve(library, "PQclear", t.clear, e);
    resolve(library, "PQntuples", t.ntuples, e);
    resolve(library, "PQgetvalue", t.getvalue, e);
    resolve(library, "PQgetlength", t.getlength, e);
    resolve(library, "PQgetisnull", t.getisnull, e);
    resolve(library, "PQcmdTuples", t.cmd_tuples, e);
    resolve(library, "PQsocket", t.socket, e);
    resolve(library, "PQconsumeInput", t.consume_input, e);
    resolve(library, "PQnotifies", t.notifies, e);
    return loaded;
}

const Loaded& loaded() {
    static const Loaded once = load();
    return once;
}

}  // namespace

StoreResult<const Libpq*> load_libpq() {
    const Loaded& l = loaded();
    if (!l.error.empty()) {
        return StoreError{ELIBACC, l.error};
    }
    return &l.table;
}

const Libpq& libpq() {
    const Loaded& l = loaded();
    if (!l.error.empty()) {
        std::abort();  // a PostgreSQL connection exists only once load_libpq() succeeded
    }
    return l.table;
}

}  // namespace certdeploy::store
