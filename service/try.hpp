#pragma once
// The project's one way to hand a failed result up: Result<T> (service/error.hpp) and StoreResult<T>
// (store/store_error.hpp) are both boost::system::result. A header without dependencies, so that store/
// uses it too.
//
//   CERTDEPLOY_TRY(write());                        // return the error, if any
//   CERTDEPLOY_TRY_AS(store->put(row), from_store); // the same, converting the error
//   CERTDEPLOY_TRY_ASSIGN(auto job, find_job(id));  // or declare the value
//   CERTDEPLOY_TRY_ASSIGN_AS(auto rows, store->list(), from_store);

#define CERTDEPLOY_TRY_AS(expr, convert)                                                             \
    do {                                                                                             \
        if (auto try_result_ = (expr); !try_result_) return convert(std::move(try_result_).error()); \
    } while (0)

#define CERTDEPLOY_TRY(expr) CERTDEPLOY_TRY_AS(expr, )

#define CERTDEPLOY_TRY_CONCAT_(a, b) a##b
#define CERTDEPLOY_TRY_NAME_(line) CERTDEPLOY_TRY_CONCAT_(try_value_, line)

#define CERTDEPLOY_TRY_ASSIGN_AS(decl, expr, convert)                                                       \
    auto CERTDEPLOY_TRY_NAME_(__LINE__) = (expr);                                                           \
    if (!CERTDEPLOY_TRY_NAME_(__LINE__)) return convert(std::move(CERTDEPLOY_TRY_NAME_(__LINE__)).error()); \
    decl = std::move(*CERTDEPLOY_TRY_NAME_(__LINE__))

#define CERTDEPLOY_TRY_ASSIGN(decl, expr) CERTDEPLOY_TRY_ASSIGN_AS(decl, expr, )
