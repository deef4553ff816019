// SPDX-License-Identifier: MIT
// A DER edit for saved TLS sessions: drop one context-specific field of the outer
// SEQUENCE (OpenSSL's SSL_SESSION_ASN1, ssl/ssl_asn1.c), so that a session is saved
// without the server's certificate ([3] peer) and resuming it does not pay for decoding
// that certificate's public key (2.5M instructions under OpenSSL 3.0, the first decoder
// set-up of the process). No OpenSSL here: bytes in, bytes out.
// Failure policy: anything that is not plain DER (one-byte tags, definite lengths, the
// outer SEQUENCE filling the buffer exactly) is left alone and reported as 0.
#include "CShim.h"

#include <stdint.h>
#include <string.h>

// The length of the TLV at `p` (header and contents) within `avail` bytes, and its header
// length in `*header`; 0 when it is not a complete DER TLV with a one-byte tag.
static size_t gs_der_tlv(const unsigned char *p, size_t avail, size_t *header) {
  if (avail < 2 || (p[0] & 0x1f) == 0x1f) return 0;
  size_t length, head;
  if (p[1] < 0x80) {
    length = p[1];
    head = 2;
  } else {
    size_t n = p[1] & 0x7f;
    if (n == 0 || n > 4 || avail < 2 + n || p[2] == 0) return 0;
    length = 0;
    for (size_t i = 0; i < n; i++) length = (length << 8) | p[2 + i];
    if (length < 0x80) return 0;  // not the shortest form
    head = 2 + n;
  }
  if (length > avail - head) return 0;
  *header = head;
  return head + length;
}

size_t gs_der_drop_field(unsigned char *der, size_t len, int tag_number) {
  size_t header;
  if (tag_number < 0 || tag_number > 30 || len < 2 || len > 0xffffff || der == NULL || der[0] != 0x30 ||
      gs_der_tlv(der, len, &header) != len)
    return 0;
  const unsigned char tag = (unsigned char)(0xa0 | tag_number);  // [n] EXPLICIT, constructed
  // Contents without the field, moved down into place; then the header rewritten in front.
  size_t out = header, in = header, dropped = 0;
  while (in < len) {
    size_t element_header, element = gs_der_tlv(der + in, len - in, &element_header);
    if (element == 0) return 0;
    if (der[in] == tag) {
      dropped = 1;
    } else {
      memmove(der + out, der + in, element);
      out += element;
    }
    in += element;
  }
  if (!dropped) return len;
  size_t contents = out - header;
  unsigned char head[5];
  size_t head_len;
  head[0] = 0x30;
  if (contents < 0x80) {
    head[1] = (unsigned char)contents;
    head_len = 2;
  } else {
    size_t n = contents > 0xffff ? 3 : contents > 0xff ? 2 : 1;
    head[1] = (unsigned char)(0x80 | n);
    for (size_t i = 0; i < n; i++) head[2 + i] = (unsigned char)(contents >> (8 * (n - 1 - i)));
    head_len = 2 + n;
  }
  // The new header is never longer than the old one: the contents only shrank.
  memmove(der + head_len, der + header, contents);
  memcpy(der, head, head_len);
  return head_len + contents;
}
