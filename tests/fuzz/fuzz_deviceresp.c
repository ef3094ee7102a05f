/*
 * fuzz_deviceresp.c: the device authorization endpoint's answer
 * (deviceresp.c), read by "sasl-oauth2 login --device"; its refusals go
 * through tokenresp.c (fuzz_tokenresp).
 *
 * The input is the body.  Each parse starts from a stale success (another
 * answer's device code and texts), so that a refusal must clear it.
 * Checks: the result is 0 or OA2_ERR_PARSE; a success has a device code
 * that passes oa2_opaque_check, a user code and a verification URI, and
 * numbers in [1, 86399]; a refusal leaves every field empty and the
 * numbers 0; every text is a printable C string within its field; a
 * second parse of the same input gives the same result.
 */
#include "config.h"

#include "buf.h"
#include "deviceresp.h"
#include "err.h"
#include "wire.h"

#include "fuzz.h"

static const char stale[] =
    "{\"device_code\":\"stale-device-code\",\"user_code\":\"STALE-CODE\","
    "\"verification_uri\":\"https://stale.example/device\","
    "\"verification_uri_complete\":\"https://stale.example/device?c=1\","
    "\"message\":\"stale\",\"interval\":9,\"expires_in\":99}";

static void
check(int rc, const struct oa2_device_response *dr)
{
	FUZZ_CHECK(rc == 0 || rc == OA2_ERR_PARSE);
	FUZZ_PRINTABLE(dr->user_code);
	FUZZ_PRINTABLE(dr->uri);
	FUZZ_PRINTABLE(dr->uri_complete);
	FUZZ_PRINTABLE(dr->message);
	FUZZ_CHECK(
	    strlen(oa2_buf_str(&dr->device_code)) == dr->device_code.len);
	if (rc != 0) {
		FUZZ_CHECK(dr->device_code.len == 0);
		FUZZ_CHECK(dr->user_code[0] == '\0' && dr->uri[0] == '\0');
		FUZZ_CHECK(dr->uri_complete[0] == '\0');
		FUZZ_CHECK(dr->message[0] == '\0');
		FUZZ_CHECK(dr->interval == 0 && dr->expires_in == 0);
		return;
	}
	FUZZ_CHECK(oa2_opaque_check(oa2_buf_str(&dr->device_code),
		       dr->device_code.len) == 0);
	FUZZ_CHECK(dr->user_code[0] != '\0' && dr->uri[0] != '\0');
	FUZZ_CHECK(dr->interval >= 1 && dr->interval <= 86399);
	FUZZ_CHECK(dr->expires_in >= 1 && dr->expires_in <= 86399);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct oa2_device_response dr, again;
	int rc;

	oa2_device_response_init(&dr);
	oa2_device_response_init(&again);
	FUZZ_CHECK(oa2_device_response_parse(stale, strlen(stale), &dr) == 0);
	rc = oa2_device_response_parse(body, size, &dr);
	check(rc, &dr);

	FUZZ_CHECK(oa2_device_response_parse(body, size, &again) == rc);
	FUZZ_CHECK(again.device_code.len == dr.device_code.len &&
	    memcmp(oa2_buf_str(&again.device_code),
		oa2_buf_str(&dr.device_code), dr.device_code.len) == 0);
	FUZZ_CHECK(strcmp(again.user_code, dr.user_code) == 0);
	FUZZ_CHECK(strcmp(again.uri, dr.uri) == 0);
	FUZZ_CHECK(strcmp(again.uri_complete, dr.uri_complete) == 0);
	FUZZ_CHECK(strcmp(again.message, dr.message) == 0);
	FUZZ_CHECK(
	    again.interval == dr.interval && again.expires_in == dr.expires_in);

	oa2_device_response_free(&dr);
	oa2_device_response_free(&again);
	return 0;
}
