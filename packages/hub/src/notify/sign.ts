import { createHmac } from 'node:crypto';

/**
 * DingTalk robot signing ("加签"): HMAC-SHA256 keyed with the secret over
 * `${timestampMs}\n${secret}`, base64, sent as the `timestamp` and `sign` query parameters.
 * DingTalk refuses a timestamp more than an hour off, so each attempt signs afresh.
 */
export function dingtalkSignedUrl(url: string, secret: string, nowMs: number): string {
  const timestamp = String(Math.floor(nowMs));
  const sign = createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
  const signed = new URL(url);
  // URLSearchParams percent-encodes the base64 '+', '/' and '=' as DingTalk expects.
  signed.searchParams.set('timestamp', timestamp);
  signed.searchParams.set('sign', sign);
  return signed.toString();
}

/**
 * Feishu custom bot signing ("签名校验"): HMAC-SHA256 keyed with `${timestampSeconds}\n${secret}`
 * over an empty message, base64; `timestamp` and `sign` travel in the JSON body.
 */
export function feishuSignature(
  secret: string,
  nowMs: number,
): { timestamp: string; sign: string } {
  const timestamp = String(Math.floor(nowMs / 1000));
  const sign = createHmac('sha256', `${timestamp}\n${secret}`).update('').digest('base64');
  return { timestamp, sign };
}
