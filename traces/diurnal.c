/* diurnal.c: the embedded hour-of-day profile and the default workload.
 *
 * Profile: /work/shared/traces/burstgpt/BurstGPT_1_hourly_profile.csv (mean
 * requests per hour of day over BurstGPT_1's 61 days, 23,441 a day on
 * average), each hour divided by the mean of the 24 values (976.71), so the
 * multipliers average 1: the busiest hour (14:00, 1796) is 1.8388, the
 * quietest (07:00, 153) 0.1566, a peak/valley ratio of 11.74. */
#include <stdio.h>
#include <string.h>

#include "synth.h"

static const double burstgpt_hour_mult[24] = {
    0.9624, 0.9143, 0.5856, 0.5252, 0.3768, 0.3502, 0.1986, 0.1566, /* 00-07 h */
    0.1822, 0.4259, 0.9000, 1.3177, 1.7856, 1.5368, 1.8388, 1.4344, /* 08-15 h */
    1.5112, 1.3883, 1.2092, 1.6054, 1.3853, 1.2030, 1.1559, 1.0505, /* 16-23 h */
};

const double *synth_diurnal_profile(void)
{
    return burstgpt_hour_mult;
}

static void set_mix(SynthMix *m, const char *model, const char *log_type, double w)
{
    snprintf(m->model, sizeof(m->model), "%s", model);
    snprintf(m->log_type, sizeof(m->log_type), "%s", log_type);
    m->weight = w;
}

/* Why these numbers (traces/README-synth.md has the table):
 * - arrivals: BurstGPT's benchmark draws Gamma gaps of shape 0.5 (CV 1.41).
 *   2 req/s loads one H100 serving Llama-2-7B in the regime that matters:
 *   a request averages ~102 prompt + ~226 generated tokens; a static batch
 *   runs until its longest generation (often ~1000+ tokens at ~6 ms a step),
 *   so fcfs-static serves ~2.1 (batch 8) to ~3 (batch 32) req/s (measured
 *   with `servesim run`, roofline cost): at 2 req/s it sits near saturation
 *   and queues through every burst (median TTFT ~10 s at batch 8, ~2 s at
 *   16), while continuous batching has ample headroom.  At 4 req/s static
 *   batching is overloaded and its queue just grows with the trace.
 * - prompts: Zipf a = 1.1 on 1..1024 tokens as in BurstGPT's generator
 *   (mean 101.8, P(1 token) = 0.179).
 * - responses: ChatGPT response lengths are bimodal; two lognormals, short
 *   API-style answers (median 30, sigma 0.8, 35 %) and conversational ones
 *   (median 280, sigma 0.55, 65 %): mean ~226, near BurstGPT's conversation
 *   mean of 272 and API mean of 69 weighted together.
 * - mix: illustrative shares (ChatGPT 80 %, GPT-4 20 %; conversation 62 %,
 *   API 38 %), not measured from the full trace. */
void synth_params_default(SynthParams *p)
{
    memset(p, 0, sizeof(*p));
    p->gap = SYNTH_GAP_GAMMA;
    p->rate = SYNTH_DEFAULT_RATE;
    p->shape = 0.5;
    p->day_s = 86400;
    memcpy(p->hour_mult, burstgpt_hour_mult, sizeof(p->hour_mult));
    p->input.kind = SYNTH_LEN_ZIPF;
    p->input.zipf_a = 1.1;
    p->input.zipf_kmax = 1024;
    p->input.min_tokens = 1;
    p->input.max_tokens = 1024;
    p->output.kind = SYNTH_LEN_LOGNORMAL2;
    p->output.weight1 = 0.35;
    p->output.mu1 = 3.4012;  /* ln 30 */
    p->output.sigma1 = 0.8;
    p->output.mu2 = 5.6348;  /* ln 280 */
    p->output.sigma2 = 0.55;
    p->output.min_tokens = 1;
    p->output.max_tokens = 2048;
    set_mix(&p->mix[0], "ChatGPT", "Conversation log", 0.50);
    set_mix(&p->mix[1], "ChatGPT", "API log", 0.30);
    set_mix(&p->mix[2], "GPT-4", "Conversation log", 0.12);
    set_mix(&p->mix[3], "GPT-4", "API log", 0.08);
    p->n_mix = 4;
    synth_turns_default(&p->turns);
    snprintf(p->name, sizeof(p->name), "default");
}
