// The three answers a SASL back end can give (Postfix XSASL_AUTH_DONE,
// XSASL_AUTH_FAIL, XSASL_AUTH_TEMP): 235, 535 or 454 to the client.
namespace Postfix.Protocols.Sasl;

public enum SaslOutcome : byte { Ok, Failed, TempFail }
