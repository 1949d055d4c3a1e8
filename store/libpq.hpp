#pragma once
// libpq, loaded the first time a PostgreSQL store or connection string is used rather than linked into the
// executable. Linked, it is loaded at every start with what it needs (Kerberos, LDAP, SASL, GnuTLS, p11-kit:
// 3.4 MiB of resident pages and their start-up constructors, measured in docs/PERFORMANCE.md) by agents and
// SQLite controllers that never call it. The package still depends on libpq5.

#include <libpq-fe.h>

#include "store/store_error.hpp"

namespace certdeploy::store {

// The libpq functions the store calls, resolved from libpq.so.5.
struct Libpq {
    decltype(&::PQconnectdbParams) connectdb_params = nullptr;
    decltype(&::PQconninfoParse) conninfo_parse = nullptr;
    decltype(&::PQconninfoFree) conninfo_free = nullptr;
    decltype(&::PQfreemem) freemem = nullptr;
    decltype(&::PQstatus) status = nullptr;
    decltype(&::PQerrorMessage) error_message = nullptr;
    decltype(&::PQsetNoticeProcessor) set_notice_processor = nullptr;
    decltype(&::PQfinish) finish = nullptr;
    decltype(&::PQexec) exec = nullptr;
    decltype(&::PQexecParams) exec_params = nullptr;
    decltype(&::PQresultStatus) result_status = nullptr;
    decltype(&::PQresultErrorField) result_error_field = nullptr;
    decltype(&::PQclear) clear = nullptr;
    decltype(&::PQntuples) ntuples = nullptr;
    decltype(&::PQgetvalue) getvalue = nullptr;
    decltype(&::PQgetlength) getlength = nullptr;
    decltype(&::PQgetisnull) getisnull = nullptr;
    decltype(&::PQcmdTuples) cmd_tuples = nullptr;
    decltype(&::PQsocket) socket = nullptr;
    decltype(&::PQconsumeInput) consume_input = nullptr;
    decltype(&::PQnotifies) notifies = nullptr;
};

// Loads libpq once (thread-safe; it stays loaded) and gives its table, or ELIBACC naming the library and
// the loader's reason (not installed, a symbol missing).
StoreResult<const Libpq*> load_libpq();

// The table; only where load_libpq() has succeeded before (anything holding a PostgreSQL connection).
const Libpq& libpq();

}  // namespace certdeploy::store
