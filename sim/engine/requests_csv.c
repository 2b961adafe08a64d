/* requests_csv.c: the rows of requests.csv (written by the metrics thread,
 * metrics_pipe.h). */
#include "requests_csv.h"

#include <stdio.h>

#include "csv_fmt.h"
#include "request.h"

const char requests_csv_header[] =
    "id,instance,arrival_s,input_tokens,output_tokens,predicted_output_tokens,"
    "generated_tokens,state,reason,first_scheduled_s,first_token_s,finish_s,"
    "ttft_s,tpot_s,e2e_s,itl_max_s,preemptions\n";

char *requests_csv_format_row(char *p, const RequestsCsvRecord *rec)
{
    p = csv_put_i64(p, rec->id); *p++ = ',';
    p = csv_put_i64(p, rec->instance); *p++ = ',';
    p = csv_put_seconds(p, rec->arrival_s); *p++ = ',';
    p = csv_put_i64(p, rec->input_tokens); *p++ = ',';
    p = csv_put_i64(p, rec->output_tokens); *p++ = ',';
    p = csv_put_i64(p, rec->predicted_output_tokens); *p++ = ',';
    p = csv_put_i64(p, rec->generated_tokens); *p++ = ',';
    p = csv_put_str(p, request_state_name((ReqState)rec->state)); *p++ = ',';
    p = csv_put_str(p, request_fail_reason_name((ReqFailReason)rec->fail_reason)); *p++ = ',';
    p = csv_put_seconds(p, rec->first_scheduled_s); *p++ = ',';
    p = csv_put_seconds(p, rec->first_token_s); *p++ = ',';
    p = csv_put_seconds(p, rec->finish_s); *p++ = ',';
    p = csv_put_seconds(p, rec->ttft_s); *p++ = ',';
    p = csv_put_seconds(p, rec->tpot_s); *p++ = ',';
    p = csv_put_seconds(p, rec->e2e_s); *p++ = ',';
    p = csv_put_seconds(p, rec->itl_max_s); *p++ = ',';
    p = csv_put_i64(p, rec->preemptions); *p++ = '\n';
    return p;
}
