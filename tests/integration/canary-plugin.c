/*
 * canary-plugin.c: a Cyrus SASL client plugin with one deliberate bug, for
 * t-sanitizers.sh.  It offers PLAIN (the mechanism smtp-sink announces), and
 * starting it commits a heap overflow, or with -DCANARY_UB a signed integer
 * overflow: the kind of report a bug in our plugin makes inside a host.
 * It runs when authentication starts, after Postfix's smtp has chrooted.
 * Test code only; never installed.
 */
#include <sasl/sasl.h>
#include <sasl/saslplug.h>
#include <stdlib.h>

int sasl_client_plug_init(const sasl_utils_t *utils, int max_version,
    int *out_version, sasl_client_plug_t **pluglist, int *plugcount);

static int
canary_new(void *glob, sasl_client_params_t *params, void **ctx)
{
#ifdef CANARY_UB
	volatile int n = 0x7fffffff;

	n += params != NULL;
#else
	volatile char *p = malloc(8);

	p[8] = 1;
	free((void *)p);
#endif
	*ctx = NULL;
	return SASL_FAIL;
}

static int
canary_step(void *ctx, sasl_client_params_t *params, const char *in,
    unsigned inlen, sasl_interact_t **prompt, const char **out,
    unsigned *outlen, sasl_out_params_t *oparams)
{
	return SASL_FAIL;
}

static sasl_client_plug_t canary_plug = {
    .mech_name = "PLAIN",
    .security_flags = SASL_SEC_NOANONYMOUS,
    .features = SASL_FEAT_WANT_CLIENT_FIRST,
    .mech_new = canary_new,
    .mech_step = canary_step,
};

int
sasl_client_plug_init(const sasl_utils_t *utils, int max_version,
    int *out_version, sasl_client_plug_t **pluglist, int *plugcount)
{
	*out_version = SASL_CLIENT_PLUG_VERSION;
	*pluglist = &canary_plug;
	*plugcount = 1;
	return SASL_OK;
}
