/* compare_accuracy.c: `servesim compare REAL SIM` where one side is a real
 * `vllm bench serve` result: how far the simulation is from the
 * measurement, metric by metric, in % of the real value.
 *
 * There is no baseline and candidate here, so no direction and no
 * REGRESSION: a gated metric is within when |sim - real| <= max(rel x
 * |real|, abs) (compare's tolerances, two-sided) and beyond otherwise.  A
 * metric with a number on one side only (vLLM has no padding_share,
 * servesim no max_concurrent_requests; null request_goodput without
 * --goodput / --slo) is a row of its own, named, never skipped. */
#include <fnmatch.h>
#include <math.h>
#include <string.h>

#include "common.h"
#include "compare.h"
#include "compare_runs.h"

static void note_rules(CompareResult *out, const CompareRules *rules, const char *key)
{
    for (int i = 0; rules && i < rules->n; i++)
        if (!fnmatch(rules->tol[i].pattern, key, 0)) out->tol_matched[i] = true;
}

static double number(json_t *m, const char *key)
{
    json_t *v = json_object_get(m, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void add_row(CompareResult *out, const char *key, json_t *ma, json_t *mb, const CompareRules *rules)
{
    CompareTol t = compare_tolerance(rules, key);
    CompareDir dir = t.off ? CMP_INFO : compare_direction(key);
    SS_GROW(out->rows, out->cap, out->n + 1);
    CompareRow *row = &out->rows[out->n++];
    memset(row, 0, sizeof(*row));
    snprintf(row->metric, sizeof(row->metric), "%s", key);
    row->n_a = row->n_b = 1;
    row->sd_a = row->sd_b = row->p = NAN;
    row->a = number(ma, key);
    row->b = number(mb, key);
    row->dir = dir;
    row->missing = (isnan(row->a) ? 1 : 0) | (isnan(row->b) ? 2 : 0);
    if (row->missing == 3) {      /* null (undefined) on both sides */
        row->verdict = CMP_NA;
        return;
    }
    if (row->missing) {
        row->verdict = CMP_MISSING;
        out->missing++;
        return;
    }
    double real = out->real_side ? row->b : row->a, sim = out->real_side ? row->a : row->b;
    if (dir == CMP_INFO) {
        row->verdict = real == sim ? CMP_SAME : CMP_WITHIN;
        return;
    }
    row->allowed = SS_MAX(t.rel * fabs(real), t.abs);
    row->verdict = fabs(sim - real) > row->allowed ? CMP_BEYOND : CMP_WITHIN;
    out->beyond += row->verdict == CMP_BEYOND;
    out->gated++;
    out->identical += real == sim;
}

void compare__accuracy(CompareResult *out, const CompareRun *a, const CompareRun *b, const CompareRules *rules)
{
    out->accuracy = true;
    out->real_side = a->real ? 0 : 1;
    const CompareRun *real = a->real ? a : b, *sim = a->real ? b : a;
    snprintf(out->real_desc, sizeof(out->real_desc), "%s", real->desc);
    json_t *sets[2] = { a->metrics, b->metrics };
    for (int s = 0; s < 2; s++) {
        const char *key;
        json_t *v;
        json_object_foreach(sets[s], key, v) {
            note_rules(out, rules, key);
            if (s == 1 && json_object_get(a->metrics, key)) continue;
            add_row(out, key, a->metrics, b->metrics, rules);
        }
    }
    /* The cheapest sign that the two did not serve the same workload. */
    double arrived = number(sim->metrics, "arrived");
    if (real->num_prompts >= 0 && isfinite(arrived) && (double)real->num_prompts != arrived)
        compare__warn(out, "%s sent %lld requests (num_prompts) but the simulation %s had %.0f (arrived): "
                      "they did not serve the same workload, and their difference is not only the "
                      "simulator's error", real->file, real->num_prompts, sim->file, arrived);
    out->runs = 1;
}
