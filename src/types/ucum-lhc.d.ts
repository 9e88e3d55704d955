// @lhncbc/ucum-lhc ships no types; only the part ln-cds calls is declared.
declare module "@lhncbc/ucum-lhc" {
  interface UcumConversion {
    status: "succeeded" | "failed" | "error";
    toVal: number | null;
    msg: string[];
  }
  interface UcumLhcUtils {
    convertUnitTo(
      fromUnit: string,
      fromVal: number,
      toUnit: string,
      options?: { molecularWeight?: number },
    ): UcumConversion;
  }
  const ucum: { UcumLhcUtils: { getInstance(): UcumLhcUtils } };
  export default ucum;
}
