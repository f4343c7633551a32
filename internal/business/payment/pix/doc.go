// Package pix writes and reads Pix BR Codes, the "Pix copia e cola" strings
// (and QR code contents) of Brazil's instant payment system, as the Banco
// Central do Brasil's "Manual de Padrões para Iniciação do Pix" profiles the
// EMVCo Merchant-Presented Mode QR: ID-length-value fields, Pix's merchant
// account template in field 26, CRC-16/CCITT-FALSE in field 63.
//
// Encode is strict and writes only the canonical, ASCII form: a static code
// (the receiver's Pix key, optional amount and transaction id), a dynamic
// code (the location of a PSP-hosted charge, single use, no amount), either
// with an optional Pix Automático recurrence location (field 80). Parse reads
// untrusted codes from any issuer: it is as strict as the manual where
// breaking a rule would make the code unpayable or ambiguous (CRC, structure,
// mandatory fields, GUI, key format) and tolerant where real PSPs differ
// harmlessly (upper-case GUI, point of initiation 11 on dynamic codes, unknown
// fields of other arrangements).
//
// Amounts are integer centavos; no floating point anywhere.
package pix
