#include "kwire/connector/job_manifest.hpp"

#include <algorithm>
#include <utility>

namespace kwire::connector {

job_manifest make_job_manifest(std::int32_t parallelism, std::string transactional_id_prefix,
                               std::int32_t transactional_id_pool) {
  job_manifest m;
  m.parallelism = parallelism;
  m.transactional_id_prefix = std::move(transactional_id_prefix);
  m.transactional_id_pool = transactional_id_pool;
  m.owned_parallelism = parallelism;
  m.owned_pool = transactional_id_pool;
  return m;
}

manifest_reconciliation reconcile_manifest(const job_manifest& stored, const job_manifest& wanted) {
  manifest_reconciliation r;
  if (stored.transactional_id_prefix != wanted.transactional_id_prefix) {
    r.error = {make_error_code(errc::manifest_mismatch),
               "the store's manifest has transactional-id prefix '" +
                   stored.transactional_id_prefix + "', the job has '" +
                   wanted.transactional_id_prefix + "'"};
    r.merged = stored;
    return r;
  }
  if (stored.parallelism != wanted.parallelism) r.previous_parallelism = stored.parallelism;
  if (stored.transactional_id_pool != wanted.transactional_id_pool)
    r.previous_pool = stored.transactional_id_pool;
  r.merged = wanted;
  r.merged.owned_parallelism = std::max(
      {stored.owned_parallelism, stored.parallelism, wanted.parallelism, wanted.owned_parallelism});
  r.merged.owned_pool = std::max({stored.owned_pool, stored.transactional_id_pool,
                                  wanted.transactional_id_pool, wanted.owned_pool});
  return r;
}

}  // namespace kwire::connector
