/**
 * ISO 4217 minor units (the exponent of an amount: 2 for USD, 0 for JPY, 3 for BHD) by alphabetic code, as a fixed
 * table in the code. Money crosses every boundary as an integer count of minor units (src/schemas/money.ts), so the
 * exponent decides what an amount means; it must not come from the runtime's ICU data, which gives display digits
 * instead (0 for HUF, IDR and COP, where ISO 4217 says 2) and changes with a Node upgrade: a rule's outcome on an
 * old history would change with it. Free of zod and I/O: workflow code reads it.
 */

/**
 * ISO 4217 List One (Table A.1, current currency and funds codes) as published by SIX, the ISO 4217 maintenance
 * agency, in the edition in force from 1 January 2026: XCG replacing ANG and XAD added in 2025, BGN withdrawn on
 * 1 January 2026. The codes List One gives no minor unit ("N.A.": XAG, XAU, XBA, XBB, XBC, XBD, XDR, XPD, XPT,
 * XSU, XTS, XUA, XXX) are left out: precious metals, accounting units and test codes price no card payment.
 */
const currentCodesByMinorUnits = {
  0: `
    BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF
  `,
  2: `
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF
    CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
    GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL
    MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR
    PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP
    TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XAD XCD XCG YER ZAR ZMW ZWG
  `,
  3: `
    BHD IQD JOD KWD LYD OMR TND
  `,
  4: `
    CLF UYW
  `,
};

/**
 * Codes withdrawn from List One since 2021 (now in List Three, historic denominations), with the minor units they
 * had: a history replayed from before a withdrawal still carries them (and the event schema accepted them all when
 * it read the runtime's currency list).
 */
const withdrawnCodesByMinorUnits = {
  2: `
    ANG BGN CUC HRK SLL ZWL
  `,
};

function byCode(table: Readonly<Record<number, string>>): Array<[string, number]> {
  return Object.entries(table).flatMap(([units, codes]) =>
    codes
      .trim()
      .split(/\s+/)
      .map((code): [string, number] => [code, Number(units)]),
  );
}

/** Minor units of every ISO 4217 code an amount may be in: the current ones and those withdrawn since 2021. */
export const iso4217MinorUnits: ReadonlyMap<string, number> = new Map([
  ...byCode(withdrawnCodesByMinorUnits),
  ...byCode(currentCodesByMinorUnits),
]);
